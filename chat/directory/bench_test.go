package directory

import (
	"fmt"
	"strings"
	"testing"
)

// benchMembers is the directory size the benchmarks run against.
const benchMembers = 2000

// benchEnv imports benchMembers members spread over ten departments.
func benchEnv(b *testing.B) (*testEnv, []Department) {
	b.Helper()
	e := newEnv(b)
	var depts []Department
	for i := 0; i < 10; i++ {
		depts = append(depts, e.dept(fmt.Sprintf("Dept %d", i), RootDepartmentID, i))
	}
	var sb strings.Builder
	sb.WriteString("id,name,departments,mobile,email\n")
	for i := 0; i < benchMembers; i++ {
		fmt.Fprintf(&sb, "user%05d,User %d,%s,1380%07d,user%d@example.com\n", i, i, depts[i%len(depts)].ID, i, i)
	}
	rep, err := e.d.ImportCSV(admin, strings.NewReader(sb.String()), nil)
	if err != nil || rep.Created != benchMembers {
		b.Fatalf("seed: %+v, %v", rep, err)
	}
	return e, depts
}

func BenchmarkGetMember(b *testing.B) {
	e, _ := benchEnv(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := e.d.GetMember(fmt.Sprintf("user%05d", i%benchMembers)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkListMembers(b *testing.B) {
	e, depts := benchEnv(b)
	for _, c := range []struct {
		name string
		f    MemberFilter
	}{
		{"all", MemberFilter{}},
		{"department", MemberFilter{Department: depts[3].ID}},
		{"subtree", MemberFilter{Department: RootDepartmentID, Recursive: true, Limit: 50}},
		{"query", MemberFilter{Query: "user 1999"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := e.d.ListMembers(c.f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
