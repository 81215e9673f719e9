package dbadmin

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
)

// Claiming what an older kubeship made. A kubeship from before ownership markers left its
// roles and databases unmarked; refusing them all would turn every shared-database service
// unready on upgrade. EnsureDatabase therefore claims an unmarked role (MySQL: user) and its
// database in exactly one case: the caller proves it holds the role's current password by
// logging in as the role, with the password it was given (the one in the Microservice's own
// credentials Secret), to that database on that server, with the admin's host, port,
// sslMode and CA. Only after that login succeeds are the markers written; no password is
// set before.
//
// Why that is safe: whoever holds the role's working password already has full control of
// its data, so marking it as theirs grants nothing new. The loser of an old name collision
// (team-a/api against team/a-api) never had its password set on the role, because the older
// kubeship refused it before making or changing anything, so its login fails and it is
// refused like any other unmarked account. A role made by a person is claimed only by a
// service whose Secret holds that person's password, which is the person's consent.
//
// The proof is one login attempt per EnsureDatabase call: a failed one is reported as
// ErrConflict (not retried by the caller, and never repeated here), so it cannot lock an
// account out under a failed-login limit. A server that cannot be reached is not a failed
// proof: that error is returned as is and the caller retries with backoff.

// claimLockClass is the first key of the PostgreSQL advisory lock that serialises claims of
// one role ("kube" in ASCII); the second is the hash of the role's name.
const claimLockClass = 0x6b756265

// proofFailed turns the error of a failed proof login into the refusal of the unmarked
// account. Its message is stable from pass to pass: it names the account and the server's
// error code, never the driver's text. An error that says the server is unreachable or busy,
// or that ctx ended, is returned instead: it proves nothing either way.
func (s *session) proofFailed(ctx context.Context, what, name, db, password, mark string, err error) error {
	err = s.fail(ctx, fmt.Sprintf("logging in as %s %q to prove its password", what, name), err, password)
	var e *Error
	if IsUnreachable(err) || ctx.Err() != nil || (errors.As(err, &e) && strings.HasPrefix(e.Code, "53")) { // 53: insufficient_resources
		return err
	}
	code := ""
	if e != nil && e.Code != "" {
		code = ", error " + e.Code
	}
	return conflictf("%s %q exists without kubeship's ownership marker, and the password kubeship has for it "+
		"(in this Microservice's credentials Secret) does not log in as it to database %q%s, so kubeship leaves it alone; "+
		"if an older kubeship made it for this Microservice, mark it with: %s", what, name, db, code, mark)
}

// legacyClaim tells whether st is what an older kubeship left for db and role: the role
// exists without any comment, the database exists, belongs to it (begin has checked that)
// and carries no marker or owner's. Only then may a password proof claim them.
func (st pgState) legacyClaim(owner string) bool {
	return st.roleExists && st.roleMark == "" && st.dbExists && (st.dbMark == "" || st.dbMark == marker(owner))
}

// provePassword logs in once as role with password to db, the way the application would.
func (a *pgAdmin) provePassword(ctx context.Context, db, role, password, owner string) error {
	cfg := a.cfg
	cfg.Username, cfg.Password, cfg.AdminDatabase = role, password, db
	cc, err := pgConnConfig(cfg)
	if err != nil {
		return err
	}
	mark := pgMarkStatement("role", role, owner)
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return a.proofFailed(ctx, "role", role, db, password, mark, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var user, current string
	if err := conn.QueryRow(ctx, "SELECT current_user, current_database()").Scan(&user, &current); err != nil {
		return a.fail(ctx, fmt.Sprintf("logging in as role %q to prove its password", role), err, password)
	}
	if user != role || current != db {
		return conflictf("logging in as role %q to database %q gave a session of %q in %q; refusing to claim it", role, db, user, current)
	}
	return nil
}

// claimUnmarked marks role and db as owner's in one transaction, once the password proof
// has succeeded. Under an advisory lock it reads both afresh and refuses if meanwhile
// anyone marked either, or the database changed hands; of two claims at once the second
// finds the first one's marker.
func (a *pgAdmin) claimUnmarked(ctx context.Context, conn *sql.Conn, db, role, owner string) error {
	op := fmt.Sprintf("claiming role %q and database %q", role, db)
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return a.fail(ctx, op, err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1, hashtext($2))", int32(claimLockClass), role); err != nil {
		return a.fail(ctx, op, err)
	}
	var roleFound, dbFound bool
	var roleMark, dbOwner, dbMark string
	err = tx.QueryRowContext(ctx, `
		SELECT r.oid IS NOT NULL, COALESCE(shobj_description(r.oid, 'pg_authid'), ''),
		       d.oid IS NOT NULL, COALESCE(pg_get_userbyid(d.datdba), ''), COALESCE(shobj_description(d.oid, 'pg_database'), '')
		FROM (SELECT 1) AS one
		LEFT JOIN pg_roles r ON r.rolname = $1
		LEFT JOIN pg_database d ON d.datname = $2`, role, db,
	).Scan(&roleFound, &roleMark, &dbFound, &dbOwner, &dbMark)
	if err != nil {
		return a.fail(ctx, op, err)
	}
	mine := marker(owner)
	switch {
	case !roleFound || !dbFound:
		return conflictf("role %q or database %q vanished while it was being claimed", role, db)
	case roleMark != "" && roleMark != mine:
		return ownerConflict("role", role, roleMark, pgMarkStatement("role", role, owner))
	case dbOwner != role:
		return conflictf("database %q belongs to role %q, not %q", db, dbOwner, role)
	case dbMark != "" && dbMark != mine:
		return ownerConflict("database", db, dbMark, pgMarkStatement("database", db, owner))
	}
	statements := []string{pgMarkStatement("role", role, owner), pgMarkStatement("database", db, owner)}
	if !a.super {
		// A non-superuser admin comments on the database as a member of its owner.
		statements = append([]string{"GRANT " + pgIdent(role) + " TO CURRENT_USER"}, statements...)
	}
	for _, q := range statements {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return a.fail(ctx, op, err)
		}
	}
	return a.fail(ctx, op, tx.Commit())
}

// provePassword logs in once as user@'%' with password to db, the way the application
// would.
func (a *myAdmin) provePassword(ctx context.Context, db, user, password, owner string) error {
	cfg := a.cfg
	cfg.Username, cfg.Password = user, password
	mc := mysqlConfig(cfg)
	mc.DBName = db
	connector, err := mysql.NewConnector(mc)
	if err != nil {
		return settingsErr(err, password)
	}
	c, err := connector.Connect(ctx)
	if err != nil {
		return a.proofFailed(ctx, kindUser, user, db, password, myMarkStatement(kindUser, user, owner), err)
	}
	_ = c.Close()
	return nil
}

// legacyClaim tells whether user and db are what an older kubeship left: both exist, the
// user has no row in kubeship.owners and the database none or owner's. Only then may a
// password proof claim them.
func (a *myAdmin) legacyClaim(ctx context.Context, conn *sql.Conn, db, user, owner string, userExists, dbExists bool) (bool, error) {
	if !userExists || !dbExists {
		return false, nil
	}
	u, err := a.recordedOwner(ctx, conn, kindUser, user)
	if err != nil {
		return false, err
	}
	d, err := a.recordedOwner(ctx, conn, kindDatabase, db)
	if err != nil {
		return false, err
	}
	return u == "" && (d == "" || d == owner), nil
}
