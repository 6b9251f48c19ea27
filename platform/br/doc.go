// Package br validates and formats Brazilian identifiers: the CPF (individual taxpayer
// number, with its two mod-11 check digits) and the 27 federative units (UFs) that,
// with a number, make a doctor's CRM registration.
package br
