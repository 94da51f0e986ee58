package storepg_test

import (
	"testing"

	"github.com/syncline/syncline/pkg/store/storetest"
)

func TestQueryConformance(t *testing.T) {
	t.Parallel()
	storetest.ExerciseQuery(t, open)
}
