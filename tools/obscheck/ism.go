package obscheck

import (
	"errors"
	"fmt"
	"os"
)

// ISM is an OpenSearch Index State Management document holding several policies (each
// one the body of PUT _plugins/_ism/policies/<policy_id>).
type ISM struct {
	Policies []struct {
		PolicyID     string `json:"policy_id"`
		Description  string `json:"description"`
		DefaultState string `json:"default_state"`
		States       []struct {
			Name        string           `json:"name"`
			Actions     []map[string]any `json:"actions"`
			Transitions []struct {
				StateName  string `json:"state_name"`
				Conditions struct {
					MinIndexAge string `json:"min_index_age"`
				} `json:"conditions"`
			} `json:"transitions"`
		} `json:"states"`
		ISMTemplate []struct {
			IndexPatterns []string `json:"index_patterns"`
			Priority      int      `json:"priority"`
		} `json:"ism_template"`
	} `json:"policies"`
}

// LoadISM reads the policies and checks that the policy of each index pattern in
// deleteAfter moves to a state that deletes the index once it is that many days old,
// and that every transition names a state of its policy.
func LoadISM(file string, deleteAfter map[string]int) (*ISM, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var ism ISM
	if err := decodeJSONStrict(data, &ism); err != nil {
		return nil, err
	}
	var errs []error
	found := map[string]bool{}
	for _, p := range ism.Policies {
		states := map[string]bool{}
		deletes := map[string]bool{}
		for _, s := range p.States {
			states[s.Name] = true
			for _, a := range s.Actions {
				if _, ok := a["delete"]; ok {
					deletes[s.Name] = true
				}
			}
		}
		if !states[p.DefaultState] {
			errs = append(errs, fmt.Errorf("%s: default state %q undefined", p.PolicyID, p.DefaultState))
		}
		deleteAge := ""
		for _, s := range p.States {
			for _, tr := range s.Transitions {
				if !states[tr.StateName] {
					errs = append(errs, fmt.Errorf("%s: transition to undefined state %q", p.PolicyID, tr.StateName))
				}
				if deletes[tr.StateName] {
					deleteAge = tr.Conditions.MinIndexAge
				}
			}
		}
		for _, t := range p.ISMTemplate {
			for _, pat := range t.IndexPatterns {
				found[pat] = true
				if want, ok := deleteAfter[pat]; ok && deleteAge != fmt.Sprintf("%dd", want) {
					errs = append(errs, fmt.Errorf("%s: %s deleted after %q, want %dd", p.PolicyID, pat, deleteAge, want))
				}
			}
		}
	}
	for pat := range deleteAfter {
		if !found[pat] {
			errs = append(errs, fmt.Errorf("no policy for %s", pat))
		}
	}
	return &ism, errors.Join(errs...)
}
