package dbadmin

import (
	"fmt"
	"strings"
)

// Ownership on the server. Every role and database kubeship makes carries a marker naming
// the Microservice (by UID) that made it; kubeship sets a password on, or drops, only what
// carries its caller's marker. Names alone prove nothing: two Microservices can map to one
// name (team-a/api and team/a-api), and a role or database may have been made by a person.
//
// PostgreSQL keeps the marker as the comment of the role and of the database; the role and
// its comment are made in one transaction, so of two services racing for one name exactly
// one commits, and the other then reads a foreign comment. MySQL and MariaDB have no
// portable comments on users or databases (MariaDB has no user ATTRIBUTE), so kubeship keeps
// a table kubeship.owners with a primary key on (kind, name): an INSERT is the atomic claim.
//
// Upgrade: roles and databases made before markers existed carry none. EnsureDatabase
// claims such a role and its database only when the caller proves it holds the role's
// current password, by logging in as the role to that database (claim.go explains why
// that is safe); then both are marked and managed as usual. Without that proof they are
// refused (ErrConflict) like anything else kubeship cannot prove is its own, with a message
// that says how a person who has checked them can mark them; kubeship never guesses.

// markerPrefix starts every ownership marker.
const markerPrefix = "kubeship:"

// marker is the ownership marker of owner, a Microservice's UID.
func marker(owner string) string { return markerPrefix + owner }

// checkOwner refuses an empty owner or one that cannot be written into a marker.
func checkOwner(owner string) error {
	if owner == "" || len(owner) > 64 || strings.ContainsAny(owner, "'\\\x00 \t\r\n") {
		return invalidf("invalid owner %q", owner)
	}
	return checkText("owner", owner)
}

// ownerConflict explains a marker that is not owner's. For one without any marker it
// says how a person who has checked that the account is this Microservice's (made by a
// kubeship from before markers) can mark it: mark is that statement.
func ownerConflict(what, name, found, mark string) error {
	if found == "" {
		return conflictf("%s %q exists without kubeship's ownership marker, so kubeship leaves it alone; "+
			"if an older kubeship made it for this Microservice, mark it with: %s", what, name, mark)
	}
	return conflictf("%s %q belongs to another owner (%s), not this Microservice", what, name, found)
}

// pgMarkStatement is the statement that marks a PostgreSQL role or database as owner's.
func pgMarkStatement(what, name, owner string) string {
	return fmt.Sprintf("COMMENT ON %s %s IS '%s'", strings.ToUpper(what), pgIdent(name), marker(owner))
}

// myMarkStatement is the statement that records a MySQL user or database as owner's.
func myMarkStatement(kind, name, owner string) string {
	return fmt.Sprintf("INSERT INTO %s (kind, name, owner) VALUES ('%s', '%s', '%s')", ownersTable, kind, strings.ReplaceAll(name, "'", "''"), owner)
}
