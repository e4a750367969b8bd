package saltedge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Amount is a decimal amount kept as text, so no precision is lost. It decodes from
// a JSON string ("5000.00", as in the seed's samples) or a JSON number (5000.0, as in
// Salt Edge's Java SDK) and encodes as a JSON string. The zero value is "no amount"
// (omitted with omitempty, encoded as null otherwise).
type Amount string

// maxAmountLen bounds the text of an amount.
const maxAmountLen = 64

var decimalRe = regexp.MustCompile(`^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?$`)

// ParseAmount validates s as a decimal number ("12.50", "-3", "1e2").
func ParseAmount(s string) (Amount, error) {
	s = strings.TrimSpace(s)
	if err := checkDecimal(s); err != nil {
		return "", err
	}
	return Amount(s), nil
}

// AmountFromFloat formats f with the given number of decimals (2 for most
// currencies). NaN and infinities give the zero Amount.
func AmountFromFloat(f float64, decimals int) Amount {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return ""
	}
	return Amount(strconv.FormatFloat(f, 'f', decimals, 64))
}

func checkDecimal(s string) error {
	if len(s) > maxAmountLen {
		return fmt.Errorf("amount: longer than %d characters", maxAmountLen)
	}
	if !decimalRe.MatchString(s) {
		return fmt.Errorf("amount %q: not a decimal number", s)
	}
	if _, err := strconv.ParseFloat(s, 64); err != nil {
		return fmt.Errorf("amount %q: out of range", s)
	}
	return nil
}

// String returns the amount's text.
func (a Amount) String() string { return string(a) }

// IsZero reports whether the amount is absent ("").
func (a Amount) IsZero() bool { return a == "" }

// Float64 converts the amount (for display or comparisons that tolerate rounding).
func (a Amount) Float64() (float64, error) {
	if err := checkDecimal(string(a)); err != nil {
		return 0, err
	}
	return strconv.ParseFloat(string(a), 64)
}

// Rat converts the amount exactly.
func (a Amount) Rat() (*big.Rat, error) {
	if err := checkDecimal(string(a)); err != nil {
		return nil, err
	}
	r, ok := new(big.Rat).SetString(strings.TrimPrefix(string(a), "+"))
	if !ok {
		return nil, fmt.Errorf("amount %q: not a decimal number", string(a))
	}
	return r, nil
}

// MarshalJSON encodes the amount as a JSON string; an invalid amount is an error.
func (a Amount) MarshalJSON() ([]byte, error) {
	if a == "" {
		return []byte("null"), nil
	}
	if err := checkDecimal(string(a)); err != nil {
		return nil, err
	}
	return []byte(`"` + string(a) + `"`), nil
}

// UnmarshalJSON accepts a JSON string holding a decimal number, a JSON number, or null.
func (a *Amount) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*a = ""
		return nil
	}
	var s string
	switch {
	case len(b) > 0 && b[0] == '"':
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("amount: %w", err)
		}
		s = strings.TrimSpace(s)
		if s == "" {
			*a = ""
			return nil
		}
	default:
		s = string(b)
	}
	if err := checkDecimal(s); err != nil {
		return err
	}
	*a = Amount(s)
	return nil
}

// ID is an identifier that the sources show both as a JSON string and as a JSON number
// (payment and beneficiary ids). It decodes from either and encodes as a string.
type ID string

// UnmarshalJSON accepts a JSON string, a JSON integer, or null.
func (id *ID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*id = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("id: %w", err)
		}
		*id = ID(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("id: want a string or a number, got %.20s", b)
	}
	*id = ID(n.String())
	return nil
}

// String returns the id's text.
func (id ID) String() string { return string(id) }

// DateTime is a date or a date-time from a request payload. The seed shows both
// ("from_date":"2019-08-18" on accounts refresh, "2019-11-18T16:04:49.585Z" on
// transactions); Salt Edge's Java SDK also formats dates as dd-MM-yyyy. DateOnly
// records which form arrived, and MarshalJSON writes the same form back.
type DateTime struct {
	time.Time
	DateOnly bool
}

// dateTimeLayout is how the seed writes date-times (UTC with milliseconds).
const dateTimeLayout = "2006-01-02T15:04:05.000Z07:00"

// ParseDateTime reads an ISO 8601 date-time (RFC 3339, with or without fractional
// seconds), an ISO date (YYYY-MM-DD) or a dd-MM-yyyy date.
func ParseDateTime(s string) (DateTime, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return DateTime{Time: t}, nil
	}
	for _, layout := range []string{"2006-01-02", "02-01-2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return DateTime{Time: t, DateOnly: true}, nil
		}
	}
	return DateTime{}, fmt.Errorf("date %q: want an ISO 8601 date or date-time", s)
}

// Date returns a date-only DateTime.
func Date(year int, month time.Month, day int) DateTime {
	return DateTime{Time: time.Date(year, month, day, 0, 0, 0, 0, time.UTC), DateOnly: true}
}

// String formats the value as it is sent.
func (d DateTime) String() string {
	if d.DateOnly {
		return d.Format("2006-01-02")
	}
	return d.UTC().Format(dateTimeLayout)
}

// MarshalJSON writes a date (YYYY-MM-DD) or a UTC date-time with milliseconds; the
// zero value is null.
func (d DateTime) MarshalJSON() ([]byte, error) {
	if d.IsZero() {
		return []byte("null"), nil
	}
	return []byte(`"` + d.String() + `"`), nil
}

// UnmarshalJSON accepts what ParseDateTime accepts, a JSON string, or null.
func (d *DateTime) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		*d = DateTime{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("date: want a JSON string, got %.20s", b)
	}
	if s == "" {
		*d = DateTime{}
		return nil
	}
	v, err := ParseDateTime(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}
