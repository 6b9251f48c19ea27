// Package config reads process configuration from flags and environment variables.
// Every flag can also be set as HEALTHCORE_<NAME>; a flag on the command line wins.
// Values are checked at start, and every bad value is reported at once with a message
// naming the flag, the variable and what is expected.
package config
