package br

import (
	"errors"
	"strings"
)

// CRM errors, worded for the person typing the registration.
var (
	ErrCRMForm   = errors.New(`a CRM is written as its number, a slash and its UF, e.g. 123456/SP`)
	ErrCRMNumber = errors.New("a CRM number has 1 to 8 digits")
	ErrCRMUF     = errors.New("a CRM's UF is one of the 27 federative units in upper case, e.g. SP")
)

// crmMaxDigits is the longest CRM number, as the proto states it (^[0-9]{1,8}$).
const crmMaxDigits = 8

// NormalizeCRMNumber drops a CRM number's leading zeros, so "012345" and "12345" are
// one registration ("0" stays "0"). The number's form is checked elsewhere (the proto,
// or ParseCRM).
func NormalizeCRMNumber(n string) string {
	n = strings.TrimLeft(n, "0")
	if n == "" {
		return "0"
	}
	return n
}

// ParseCRM reads a registration in the form CRM writes ("123456/SP"): 1 to 8 digits,
// a slash and a UF. It returns the number without leading zeros and the UF, or an
// error saying what is wrong.
func ParseCRM(s string) (number, uf string, err error) {
	number, uf, ok := strings.Cut(s, "/")
	if !ok {
		return "", "", ErrCRMForm
	}
	if number == "" || len(number) > crmMaxDigits || strings.Trim(number, "0123456789") != "" {
		return "", "", ErrCRMNumber
	}
	if !IsUF(uf) {
		return "", "", ErrCRMUF
	}
	return NormalizeCRMNumber(number), uf, nil
}
