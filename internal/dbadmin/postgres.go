package dbadmin

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/kubeship/kubeship/internal/naming"
)

type pgAdmin struct {
	session
	version int  // server_version_num, e.g. 150018
	super   bool // the admin is a superuser (not so on most managed services)
}

// pgConnConfig builds the pgx config. The password is set on the parsed config, never put
// into a connection string, so no parse error can contain it.
func pgConnConfig(cfg Config) (*pgx.ConnConfig, error) {
	dbname := cfg.AdminDatabase
	if dbname == "" {
		dbname = "postgres"
	}
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(cfg.Username),
		Host:     net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)),
		Path:     "/" + dbname,
		RawQuery: url.Values{"sslmode": {cfg.sslMode()}, "application_name": {"kubeship"}}.Encode(),
	}
	cc, err := pgx.ParseConfig(u.String())
	if err != nil {
		return nil, settingsErr(err, cfg.Password)
	}
	cc.Password = cfg.Password
	cc.ConnectTimeout = cfg.connectTimeout()
	// Unnamed statements only: nothing the admin runs is cached in either process.
	cc.DefaultQueryExecMode = pgx.QueryExecModeDescribeExec
	if cfg.RootCAs != nil {
		for _, tc := range append([]*pgconn.FallbackConfig{{TLSConfig: cc.TLSConfig}}, cc.Fallbacks...) {
			if tc.TLSConfig != nil {
				tc.TLSConfig.RootCAs = cfg.RootCAs
			}
		}
	}
	return cc, nil
}

func connectPostgres(ctx context.Context, cfg Config) (Admin, error) {
	cc, err := pgConnConfig(cfg)
	if err != nil {
		return nil, err
	}
	a := &pgAdmin{session: newSession(stdlib.GetConnector(*cc), cfg)}
	err = a.login(ctx, func(ctx context.Context) error {
		return a.db.QueryRowContext(ctx,
			"SELECT current_setting('server_version_num')::int, rolsuper FROM pg_roles WHERE rolname = current_user",
		).Scan(&a.version, &a.super)
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

func checkPGNames(db, role string) error {
	return errors.Join(checkName("database name", db, naming.MaxIdentifierLength, 0), checkName("role name", role, naming.MaxIdentifierLength, 0))
}

func (a *pgAdmin) EnsureDatabase(ctx context.Context, db, role, password, owner string) error {
	if err := errors.Join(checkPGNames(db, role), checkOwner(owner)); err != nil {
		return err
	}
	literal, secrets, err := pgPassword(password)
	if err != nil {
		return err
	}
	conn, st, err := a.begin(ctx, db, role)
	if err != nil {
		return err
	}
	defer conn.Close()
	// What an older kubeship left unmarked is claimed only by proving the role's password
	// (claim.go); anything else unmarked or foreign is refused here.
	legacy := st.legacyClaim(owner)
	if !legacy {
		if err := st.claimable(db, role, owner); err != nil {
			return err
		}
	}
	exec := a.execOn(conn, secrets...)
	r, d := pgIdent(role), pgIdent(db)
	mark := "'" + marker(owner) + "'" // checkOwner lets no quote or backslash through
	claim := make([]step, 0, 2)
	if legacy {
		claim = []step{
			{"prove-password", func(ctx context.Context) error { return a.provePassword(ctx, db, role, password, owner) }},
			{"claim-unmarked", func(ctx context.Context) error { return a.claimUnmarked(ctx, conn, db, role, owner) }},
		}
	}
	return runSteps(ctx, a.stepHook, append(claim, []step{
		{"create-role", func(ctx context.Context) error {
			if st.roleExists {
				return nil
			}
			// Role and marker in one transaction: of two services racing for the name, one
			// commits both, the other fails and then finds the winner's marker.
			err := a.inTx(ctx, conn, fmt.Sprintf("creating role %q", role),
				"CREATE ROLE "+r+" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS",
				"COMMENT ON ROLE "+r+" IS "+mark)
			if ignoreCode(ignoreCode(err, "42710"), "23505") != nil { // duplicate_object, unique_violation: made meanwhile
				return err
			}
			return nil
		}},
		{"verify-role", func(ctx context.Context) error {
			// Whatever the first look saw, the password goes only to a role marked as ours.
			return a.verifyRole(ctx, conn, role, owner)
		}},
		{"set-password", func(ctx context.Context) error {
			// Not NOSUPERUSER etc. here: before PostgreSQL 16 naming those attributes in ALTER
			// ROLE needs a superuser; begin has checked the role does not hold them.
			return exec(ctx, fmt.Sprintf("setting the password of role %q", role),
				"ALTER ROLE "+r+" WITH LOGIN NOCREATEDB NOCREATEROLE PASSWORD"+literal)
		}},
		{"admin-membership", func(ctx context.Context) error {
			if a.super {
				return nil
			}
			// A non-superuser admin must be a member to give the role a database and, later,
			// to end its sessions and drop what it owns.
			return exec(ctx, fmt.Sprintf("granting role %q to the admin", role), "GRANT "+r+" TO CURRENT_USER")
		}},
		{"create-database", func(ctx context.Context) error {
			if st.dbExists {
				return nil
			}
			// Closed until PUBLIC's default CONNECT is revoked, so no other role can slip in
			// if we stop between the two.
			err := exec(ctx, fmt.Sprintf("creating database %q", db),
				"CREATE DATABASE "+d+" OWNER "+r+" ALLOW_CONNECTIONS false")
			return ignoreCode(err, "42P04") // duplicate_database: made meanwhile
		}},
		{"mark-database", func(ctx context.Context) error {
			if err := a.verifyDatabase(ctx, conn, db, role, owner); err != nil {
				return err
			}
			return exec(ctx, fmt.Sprintf("marking database %q", db), "COMMENT ON DATABASE "+d+" IS "+mark)
		}},
		{"revoke-public", func(ctx context.Context) error {
			return exec(ctx, fmt.Sprintf("revoking PUBLIC's rights on database %q", db), "REVOKE ALL ON DATABASE "+d+" FROM PUBLIC")
		}},
		{"allow-connections", func(ctx context.Context) error {
			return exec(ctx, fmt.Sprintf("opening database %q", db), "ALTER DATABASE "+d+" ALLOW_CONNECTIONS true")
		}},
	}...))
}

func (a *pgAdmin) DropDatabase(ctx context.Context, db, role, owner string) error {
	if err := errors.Join(checkPGNames(db, role), checkOwner(owner)); err != nil {
		return err
	}
	conn, st, err := a.begin(ctx, db, role)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := st.droppable(db, role, owner); err != nil {
		return err
	}
	exec := a.execOn(conn)
	r, d := pgIdent(role), pgIdent(db)
	return runSteps(ctx, a.stepHook, []step{
		{"drop-database", func(ctx context.Context) error {
			if !st.dbExists {
				return nil
			}
			op := fmt.Sprintf("dropping database %q", db)
			if a.version >= 130000 {
				return exec(ctx, op, "DROP DATABASE IF EXISTS "+d+" WITH (FORCE)")
			}
			if err := exec(ctx, op, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", db); err != nil {
				return err
			}
			return exec(ctx, op, "DROP DATABASE IF EXISTS "+d)
		}},
		{"disable-login", func(ctx context.Context) error {
			if !st.roleExists {
				return nil
			}
			// So that the sessions ended next cannot come back.
			return exec(ctx, fmt.Sprintf("disabling login of role %q", role), "ALTER ROLE "+r+" NOLOGIN")
		}},
		{"end-role-sessions", func(ctx context.Context) error {
			if !st.roleExists {
				return nil
			}
			return exec(ctx, fmt.Sprintf("ending the sessions of role %q", role),
				"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()", role)
		}},
		{"drop-owned", func(ctx context.Context) error {
			if !st.roleExists {
				return nil
			}
			// Objects the role made in the admin's database, and its grants.
			return exec(ctx, fmt.Sprintf("dropping what role %q owns", role), "DROP OWNED BY "+r)
		}},
		{"drop-role", func(ctx context.Context) error {
			if !st.roleExists {
				return nil
			}
			return exec(ctx, fmt.Sprintf("dropping role %q", role), "DROP ROLE IF EXISTS "+r)
		}},
	})
}

// pgState is what the server holds under the names, read before any change.
type pgState struct {
	roleExists, roleIsAdmin, roleElevated bool
	roleMark                              string // the role's comment
	dbExists                              bool
	dbOwner, dbMark                       string
}

// claimable refuses what EnsureDatabase must not touch: a role without owner's marker, or a
// database that another owner marked. A database owned by our marked role but without a
// marker is the one a stopped EnsureDatabase made (CREATE DATABASE cannot share a
// transaction with COMMENT), and is marked by the next run.
func (st pgState) claimable(db, role, owner string) error {
	switch {
	case st.roleExists && st.roleMark != marker(owner):
		return ownerConflict("role", role, st.roleMark, pgMarkStatement("role", role, owner))
	case !st.roleExists && st.dbExists:
		return ownerConflict("database", db, st.dbMark, pgMarkStatement("database", db, owner))
	case st.dbExists && st.dbMark != "" && st.dbMark != marker(owner):
		return ownerConflict("database", db, st.dbMark, pgMarkStatement("database", db, owner))
	}
	return nil
}

// droppable refuses to drop anything not provably owner's: the role must carry the marker,
// and the database the marker too (or, left by a stopped EnsureDatabase, none while it
// belongs to our marked role).
func (st pgState) droppable(db, role, owner string) error {
	switch {
	case st.roleExists && st.roleMark != marker(owner):
		return ownerConflict("role", role, st.roleMark, pgMarkStatement("role", role, owner))
	case st.dbExists && st.dbMark == marker(owner):
		return nil
	case st.dbExists && (st.dbMark != "" || !st.roleExists):
		return ownerConflict("database", db, st.dbMark, pgMarkStatement("database", db, owner))
	}
	return nil
}

// verifyRole reads the role's marker afresh on conn.
func (a *pgAdmin) verifyRole(ctx context.Context, conn *sql.Conn, role, owner string) error {
	var mark string
	err := conn.QueryRowContext(ctx,
		"SELECT COALESCE(shobj_description(oid, 'pg_authid'), '') FROM pg_roles WHERE rolname = $1", role).Scan(&mark)
	if errors.Is(err, sql.ErrNoRows) {
		return conflictf("role %q vanished while it was being set up", role)
	}
	if err != nil {
		return a.fail(ctx, fmt.Sprintf("reading the owner of role %q", role), err)
	}
	if mark != marker(owner) {
		return ownerConflict("role", role, mark, pgMarkStatement("role", role, owner))
	}
	return nil
}

// verifyDatabase reads the database's owner and marker afresh on conn: it must belong to
// role, and carry owner's marker or none.
func (a *pgAdmin) verifyDatabase(ctx context.Context, conn *sql.Conn, db, role, owner string) error {
	var dbOwner, mark string
	err := conn.QueryRowContext(ctx,
		"SELECT pg_get_userbyid(datdba), COALESCE(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = $1", db,
	).Scan(&dbOwner, &mark)
	if err != nil {
		return a.fail(ctx, fmt.Sprintf("reading the owner of database %q", db), err)
	}
	switch {
	case dbOwner != role:
		return conflictf("database %q belongs to role %q, not %q", db, dbOwner, role)
	case mark != "" && mark != marker(owner):
		return ownerConflict("database", db, mark, pgMarkStatement("database", db, owner))
	}
	return nil
}

// inTx runs statements in one transaction on conn.
func (a *pgAdmin) inTx(ctx context.Context, conn *sql.Conn, op string, statements ...string) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return a.fail(ctx, op, err)
	}
	for _, q := range statements {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			_ = tx.Rollback()
			return a.fail(ctx, op, err)
		}
	}
	return a.fail(ctx, op, tx.Commit())
}

// begin takes a connection, reads the state of role and database, and refuses to go on if
// either is not ours to manage: the admin itself, a role with server-wide attributes or any
// role membership (we never grant either), or a database owned by another role.
func (a *pgAdmin) begin(ctx context.Context, db, role string) (*sql.Conn, pgState, error) {
	var st pgState
	conn, err := a.db.Conn(ctx)
	if err != nil {
		return nil, st, a.fail(ctx, "connecting as admin", err)
	}
	err = conn.QueryRowContext(ctx, `
		SELECT r.oid IS NOT NULL,
		       COALESCE(r.rolname = current_user, false),
		       COALESCE(r.rolsuper OR r.rolreplication OR r.rolbypassrls OR r.rolcreaterole OR r.rolcreatedb
		                OR EXISTS (SELECT 1 FROM pg_auth_members m WHERE m.member = r.oid), false),
		       COALESCE(shobj_description(r.oid, 'pg_authid'), ''),
		       d.oid IS NOT NULL,
		       COALESCE(pg_get_userbyid(d.datdba), ''),
		       COALESCE(shobj_description(d.oid, 'pg_database'), '')
		FROM (SELECT 1) AS one
		LEFT JOIN pg_roles r ON r.rolname = $1
		LEFT JOIN pg_database d ON d.datname = $2`, role, db,
	).Scan(&st.roleExists, &st.roleIsAdmin, &st.roleElevated, &st.roleMark, &st.dbExists, &st.dbOwner, &st.dbMark)
	if err != nil {
		conn.Close()
		return nil, st, a.fail(ctx, fmt.Sprintf("looking up role %q and database %q", role, db), err)
	}
	switch {
	case st.roleIsAdmin:
		err = conflictf("role %q is the admin role", role)
	case st.roleElevated:
		err = conflictf("role %q has server-wide attributes or role memberships; refusing to manage it", role)
	case st.dbExists && st.dbOwner != role:
		err = conflictf("database %q belongs to role %q, not %q", db, st.dbOwner, role)
	}
	if err != nil {
		conn.Close()
		return nil, st, err
	}
	return conn, st, nil
}

// ignoreCode drops an error with the given SQLSTATE.
func ignoreCode(err error, code string) error {
	var e *Error
	if errors.As(err, &e) && e.Code == code {
		return nil
	}
	return err
}
