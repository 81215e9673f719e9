package dbadmin

import (
	"strings"
	"testing"

	"github.com/kubeship/kubeship/internal/naming"
)

// The escaped GRANT pattern counts towards the 64-character limit on the real server: the
// old dedicated MySQL database name of a Microservice named "y.y.(...).z" (49 characters,
// 24 dots) could be created but not granted, which is why naming.DedicatedDatabase cuts it.
func TestGrantPatternLengthOnServer(t *testing.T) {
	e := onlyEngine(t, EngineMySQL)
	ctx := testCtx(t)
	db := rawDB(e.admin(t))
	ms := strings.Repeat("y.", 24) + "z"
	long := strings.ReplaceAll(ms, ".", "_")
	if _, err := db.ExecContext(ctx, "CREATE USER IF NOT EXISTS 'grantlen'@'%' IDENTIFIED BY 'pw'"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = db.ExecContext(ctx, "DROP USER IF EXISTS 'grantlen'@'%'") })
	if _, err := db.ExecContext(ctx, "GRANT ALL ON "+myGrantDB(long)+".* TO 'grantlen'@'%'"); err == nil {
		t.Errorf("GRANT on %q (%d characters escaped) succeeded: the limit this cut is for does not exist", long, naming.MySQLGrantLength(long))
	}
	cut := naming.DedicatedDatabase(naming.EngineMySQL, ms)
	if _, err := db.ExecContext(ctx, "GRANT ALL ON "+myGrantDB(cut)+".* TO 'grantlen'@'%'"); err != nil {
		t.Errorf("GRANT on the cut name %q: %v", cut, err)
	}
}
