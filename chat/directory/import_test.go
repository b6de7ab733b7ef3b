package directory

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"parley/chat/audit"
)

func TestImportCSVMixedRows(t *testing.T) {
	e := newEnv(t)
	tr := buildTree(e)
	secret := e.dept("Secret", RootDepartmentID, 0)
	e.member("olduser", "13800000009", "old@example.com", tr.sales.ID)
	e.member("boss", "", "", RootDepartmentID)
	if _, err := e.d.SetRole(admin, "boss", RoleSuperAdmin, nil); err != nil {
		t.Fatal(err)
	}
	e.member("outsider", "13800000008", "", secret.ID)

	csvText := strings.Join([]string{
		/* 1 */ "\uFEFFID, Name ,departments,mobile,email,position,status,password",
		/* 2 */ `alice,Alice,Acme/R&D/Backend,13800000001,alice@example.com,"Engineer, Backend",,pw1`,
		/* 3 */ `bob,,Acme/Sales,13800000002,,,,`,
		/* 4 */ `carol,Carol,999,13800000003,,,,`,
		/* 5 */ `dave,Dave,Acme/Sales,13800000004,not-an-email,,,`,
		/* 6 */ `erin,Erin,Acme/Sales,13800000001,,,,`,
		/* 7 */ `frank,Frank,Acme/Secret,13800000006,,,,`,
		/* 8 */ `grace,Grace,Acme/Nope/Backend,,,,,`,
		/* 9 */ `ivan,Ivan`,
		/* 10 */ `judy,Judy,Acme/Sales,,,"two`,
		/* 11 */ `lines",,`,
		/* 12 */ `olduser,Old User Renamed,Acme/Sales;` + tr.rd.ID + `,,,,,`,
		/* 13 */ `heidi,"Heidi ""H"" Smith",` + tr.ops.ID + `; Acme / Sales ,,heidi@example.com,,,`,
		/* 14 */ `boss,Boss,Acme,,,,disabled,`,
		/* 15 */ `alice,Alice Again,Acme/Sales,,,,,`,
		/* 16 */ `kim,Kim,Acme/Ops,13800000008,,,,`,
		/* 17 */ `,,,,,,,`,
		/* 18 */ `leo,Leo,Acme/Ops,,HEIDI@example.com,,,`,
	}, "\n") + "\n"

	canManage := func(_ *Member, ids []string) error {
		if slices.Contains(ids, secret.ID) {
			return errors.New("you may not manage department Secret")
		}
		return nil
	}
	rep, err := e.d.ImportCSV(admin, strings.NewReader(csvText), canManage)
	if err != nil {
		t.Fatal(err)
	}

	want := []struct {
		line   int
		reason string
	}{
		{3, "name"},
		{4, `unknown department "999"`},
		{5, "email"},
		{6, "mobile 13800000001 already appears on line 2"},
		{7, "may not manage department Secret"},
		{8, `unknown department "Acme/Nope/Backend"`},
		{9, "has 2 fields"},
		{10, "position"},
		{14, "last active super admin"},
		{15, "id alice already appears on line 2"},
		{16, "already used by member outsider"},
		{18, "email HEIDI@example.com already appears on line 13"},
	}
	if len(rep.Errors) != len(want) {
		t.Fatalf("got %d row errors %+v, want %d", len(rep.Errors), rep.Errors, len(want))
	}
	for i, w := range want {
		got := rep.Errors[i]
		if got.Line != w.line || !strings.Contains(got.Reason, w.reason) {
			t.Errorf("error %d: got line %d %q, want line %d containing %q", i, got.Line, got.Reason, w.line, w.reason)
		}
	}
	if rep.Created != 2 || rep.Updated != 1 {
		t.Fatalf("created %d updated %d, want 2 and 1", rep.Created, rep.Updated)
	}
	if len(rep.Passwords) != 1 || rep.Passwords["alice"] != "pw1" {
		t.Fatalf("passwords: %v", rep.Passwords)
	}

	alice, err := e.d.GetMember("alice")
	if err != nil {
		t.Fatal(err)
	}
	if alice.Position != "Engineer, Backend" || alice.Mobile != "13800000001" || !slices.Equal(alice.Departments, []string{tr.backend.ID}) || alice.Status != StatusActive {
		t.Fatalf("alice: %+v", alice)
	}
	heidi, err := e.d.GetMember("heidi")
	if err != nil || heidi.Name != `Heidi "H" Smith` || !slices.Equal(heidi.Departments, []string{tr.ops.ID, tr.sales.ID}) {
		t.Fatalf("heidi: %+v, %v", heidi, err)
	}
	old, err := e.d.GetMember("olduser")
	if err != nil || old.Name != "Old User Renamed" || old.Mobile != "13800000009" || old.Email != "old@example.com" ||
		!slices.Equal(old.Departments, []string{tr.sales.ID, tr.rd.ID}) {
		t.Fatalf("olduser (empty cells keep fields): %+v, %v", old, err)
	}
	if boss, _ := e.d.GetMember("boss"); boss.Status != StatusActive {
		t.Fatal("import disabled the last super admin")
	}
	for _, id := range []string{"bob", "carol", "dave", "erin", "frank", "grace", "ivan", "judy", "kim", "leo"} {
		if _, err := e.d.GetMember(id); !errors.Is(err, ErrNotFound) {
			t.Errorf("bad row %s was imported (%v)", id, err)
		}
	}
	// Indexes were written with the records.
	ms, _, err := e.d.ListMembers(MemberFilter{Department: tr.rd.ID, Recursive: true})
	if err != nil || strings.Join(memberIDs(ms), ",") != "alice,olduser" {
		t.Fatalf("R&D subtree after import: %v, %v", memberIDs(ms), err)
	}
	_, err = e.d.CreateMember(admin, Member{ID: "x", Name: "X", Email: "Heidi@Example.com", Departments: []string{RootDepartmentID}})
	wantErr(t, err, ErrConflict)
	// One audit entry per imported member.
	for _, c := range []struct{ id, action string }{{"alice", "member.create"}, {"heidi", "member.create"}, {"olduser", "member.update"}} {
		es, _, err := e.log.Query(audit.Query{TargetType: "member", TargetID: c.id, Action: c.action})
		if err != nil || len(es) != 1 || es[0].After == nil {
			t.Fatalf("%s %s audit entries: %+v, %v", c.action, c.id, es, err)
		}
	}
}

func TestImportCSVWholeFileFailures(t *testing.T) {
	e := newEnv(t)
	good := "alice,Alice,Acme\n"
	for _, c := range []struct {
		name, text, want string
	}{
		{"unknown column", "id,name,departments,nickname\nalice,Alice,Acme,Al\n", `column "nickname"`},
		{"missing column", "id,name\nalice,Alice\n", `"departments"`},
		{"repeated column", "id,name,departments,name\nalice,Alice,Acme,A\n", "twice"},
		{"empty", "", "empty"},
		{"unclosed quote", "id,name,departments\n" + good + "bob,\"Bob,Acme\n", "file"},
		{"too many rows", "id,name,departments\n" + strings.Repeat(good, MaxImportRows+1), fmt.Sprint(MaxImportRows)},
		{"too large", "id,name,departments\n" + strings.Repeat("x", MaxImportBytes), fmt.Sprint(MaxImportBytes)},
	} {
		t.Run(c.name, func(t *testing.T) {
			rep, err := e.d.ImportCSV(admin, strings.NewReader(c.text), nil)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want ErrInvalid mentioning %q", err, c.want)
			}
			if rep.Created != 0 {
				t.Fatalf("report of a failed import: %+v", rep)
			}
		})
	}
	if _, err := e.d.GetMember("alice"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a failed import wrote a member: %v", err)
	}
	// The same directory still imports a good file.
	var sb strings.Builder
	sb.WriteString("id,name,departments\n")
	for i := 0; i < 3; i++ {
		fmt.Fprintf(&sb, "m%d,M %d,1\n", i, i)
	}
	rep, err := e.d.ImportCSV(admin, strings.NewReader(sb.String()), nil)
	if err != nil || rep.Created != 3 || len(rep.Errors) != 0 {
		t.Fatalf("small import: %+v, %v", rep, err)
	}
}
