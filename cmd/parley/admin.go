package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"parley/chat/audit"
	"parley/chat/directory"
	"parley/signaling/auth"
	"parley/storage"
)

// admin runs offline tasks. It opens the data directory itself, so it
// refuses to run while a server holds it: the directory lock says so.
func admin(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, adminUsage)
		return fmt.Errorf("%w: name a task", errUsage)
	}
	switch args[0] {
	case "reset-password":
		return resetPassword(args[1:], stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, adminUsage)
		return nil
	}
	fmt.Fprint(stderr, adminUsage)
	return fmt.Errorf("%w: unknown task %q", errUsage, args[0])
}

const adminUsage = `Usage: parley admin <task> [flags]

Tasks (run them while the server is stopped):
  reset-password --data DIR --user ID [--password PW]
      set a member's password (generated and printed if --password is
      omitted), revoke their sessions, and re-enable the account
`

func resetPassword(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("admin reset-password", flag.ContinueOnError)
	dataDir := fs.String("data", envOr("PARLEY_DATA", "./parley-data"), "data directory (env PARLEY_DATA)")
	user := fs.String("user", "admin", "member id")
	password := fs.String("password", "", "new password; empty generates one")
	if err := fs.Parse(args); err != nil {
		return err
	}
	generated := *password == ""
	if generated {
		buf := make([]byte, 18)
		_, _ = rand.Read(buf)
		*password = base64.RawURLEncoding.EncodeToString(buf)
	}
	if err := auth.ValidatePassword(*password); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}

	db, err := storage.Open(*dataDir, storage.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	log := audit.New(db)
	dir := directory.New(db, log)
	m, err := dir.GetMember(*user)
	if errors.Is(err, directory.ErrNotFound) {
		return fmt.Errorf("no member %q in %s", *user, *dataDir)
	}
	if err != nil {
		return err
	}
	svc, err := auth.New(db, offlineMembers{}, auth.Config{})
	if err != nil {
		return err
	}
	if err := svc.SetPassword(m.ID, *password); err != nil {
		return err
	}
	if err := svc.RevokeMember(m.ID); err != nil {
		return err
	}
	cli := directory.Actor{ID: "cli"}
	if m.Status != directory.StatusActive {
		if _, err := dir.SetStatus(cli, m.ID, directory.StatusActive); err != nil {
			return err
		}
	}
	if _, err := log.Record(audit.Entry{Actor: cli.ID, Action: "member.password_reset", TargetType: "member", TargetID: m.ID}); err != nil {
		return err
	}
	slog.Info("password reset", "member", m.ID)
	if generated {
		fmt.Fprintf(stdout, "new password for %s: %s\n", m.ID, *password)
	} else {
		fmt.Fprintf(stdout, "password for %s reset\n", m.ID)
	}
	return nil
}

// offlineMembers stands in for the directory where no sign-in happens.
type offlineMembers struct{}

func (offlineMembers) MemberActive(string) (bool, error) { return false, nil }

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
