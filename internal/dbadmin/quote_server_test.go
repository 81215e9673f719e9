package dbadmin

import "testing"

// pgIdent's output names exactly the original on a real PostgreSQL, for every seed of the
// fuzz targets that checkPGNames lets through (FuzzPGIdent checks the same against a parser
// of the quoting rules; this checks that parser against the server).
func TestPGIdentOnServer(t *testing.T) {
	e := onlyEngine(t, EnginePostgres)
	ctx := testCtx(t)
	tried := 0
	for _, s := range quoteSeeds() {
		if checkPGNames(s, "role") != nil {
			continue
		}
		tried++
		rows, err := rawDB(e.admin(t)).QueryContext(ctx, "SELECT 1 AS "+pgIdent(s)+", 2")
		if err != nil {
			t.Errorf("%q: %v", s, err)
			continue
		}
		cols, err := rows.Columns()
		rows.Close()
		if err != nil || len(cols) != 2 || cols[0] != s {
			t.Errorf("column %q came back as %q, %v", s, cols, err)
		}
	}
	if tried < 10 {
		t.Fatalf("only %d seeds are valid PostgreSQL names", tried)
	}
}
