package br

import "slices"

// UFs are the 27 federative units (26 states and the Federal District).
var UFs = []string{
	"AC", "AL", "AP", "AM", "BA", "CE", "DF", "ES", "GO", "MA", "MT", "MS", "MG", "PA",
	"PB", "PR", "PE", "PI", "RJ", "RN", "RS", "RO", "RR", "SC", "SP", "SE", "TO",
}

// IsUF reports whether s is one of the 27 UFs (upper case).
func IsUF(s string) bool { return slices.Contains(UFs, s) }

// CRM formats a doctor's registration as "123456/SP", the form tokens and logs carry.
func CRM(number, uf string) string { return number + "/" + uf }
