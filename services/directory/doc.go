// Package directory is the directory service: doctors' public profiles (specialties
// with RQE, price, location, time zone, rating) and the search patients use to find a
// doctor by specialty, distance, rating, price and name. Distances come from PostgreSQL
// (cube + earthdistance, GiST-indexed), pages from keyset cursors.
package directory
