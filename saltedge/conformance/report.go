package conformance

// Check is the outcome of one conformance check.
type Check struct {
	// ID names the check for machines and CI (e.g. "auth.alg-none"); the package
	// documentation lists them.
	ID string `json:"id"`
	// Name says what is checked, for people.
	Name string `json:"name"`
	// Passed reports whether the connector behaved as documented.
	Passed bool `json:"passed"`
	// Detail says what the connector answered (never a token, JWT or key).
	Detail string `json:"detail,omitempty"`
}

// Report is the outcome of a run: every check, in the order it ran.
type Report struct {
	Checks []Check `json:"checks"`
}

// Failed returns the checks that did not pass, in order (none when the connector
// conforms).
func (r Report) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if !c.Passed {
			out = append(out, c)
		}
	}
	return out
}

// Passed returns how many checks passed.
func (r Report) Passed() int { return len(r.Checks) - len(r.Failed()) }

// Find returns the check with this ID.
func (r Report) Find(id string) (Check, bool) {
	for _, c := range r.Checks {
		if c.ID == id {
			return c, true
		}
	}
	return Check{}, false
}

func (r *Report) add(id, name string, passed bool, detail string) {
	r.Checks = append(r.Checks, Check{ID: id, Name: name, Passed: passed, Detail: clip(detail, 300)})
}
