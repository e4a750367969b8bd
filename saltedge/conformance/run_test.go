package conformance_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/saltedge/conformance/conformancetest"
)

func TestReferenceBankPassesEveryCheck(t *testing.T) {
	rep := run(t, setup(t, conformancetest.Config{}))
	for _, c := range rep.Checks {
		fmt.Printf("%v %s %s: %s\n", c.Passed, c.ID, c.Name, c.Detail)
	}
	require.NotEmpty(t, rep.Checks)
	assert.Empty(t, failedIDs(rep))
}
