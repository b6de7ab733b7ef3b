package directory

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"parley/storage"
)

// Import limits. Over either, the whole import fails with ErrInvalid.
const (
	// MaxImportRows bounds the data rows of one CSV import.
	MaxImportRows = 50000
	// MaxImportBytes bounds the size of one CSV import.
	MaxImportBytes = 10 << 20
)

// importColumns are the columns ImportCSV understands, in documentation
// order. The first three are required.
var importColumns = []string{"id", "name", "departments", "mobile", "email", "position", "gender", "status", "password"}

// csvRow is one data row, its fields by column name.
type csvRow struct {
	line   int
	fields map[string]string
}

// get returns the trimmed cell of column col, "" when the file has no such
// column.
func (r csvRow) get(col string) string { return strings.TrimSpace(r.fields[col]) }

// CanManageFunc decides whether the importer may write one row. existing
// is the member the row updates, nil when it creates one; deptIDs are the
// departments the row touches. A non-nil error rejects the row with that
// reason.
type CanManageFunc func(existing *Member, deptIDs []string) error

// ImportCSV creates and updates members from a CSV file with a header row.
//
// Columns, by header name in any order: id, name and departments are
// required; mobile, email, position, gender, status and password are
// optional. A header naming any other column fails the whole file, as do a
// CSV syntax error (an unclosed quote makes the rest of the file
// unreadable) and the MaxImportRows and MaxImportBytes limits.
//
// departments holds ';'-separated entries, each a department id or a name
// path from the root ("Acme/R&D/Backend"); an entry that is an existing id
// is taken as one. A row whose id exists updates that member: name and
// departments are replaced, and each optional cell replaces its field when
// it is not empty (an empty cell keeps the current value). Otherwise the
// row creates a member. password cells are returned in report.Passwords,
// never stored here.
//
// Rows are independent: each bad row gets a RowError (line 1 is the
// header) and is skipped. A row is bad when it fails validation, when
// canManage refuses it (it sees the existing member, nil for a new one,
// and the resolved departments plus, for an update, the current ones), when its id, mobile or email repeats an
// earlier imported row of the file, when its mobile or email belongs to
// another member, or when it would disable the last active super admin.
// Rows with every cell empty are ignored. A nil canManage allows every
// row. The good rows commit in one synced batch, with one audit entry per
// member.
func (d *Directory) ImportCSV(a Actor, r io.Reader, canManage CanManageFunc) (ImportReport, error) {
	if err := checkActor(a); err != nil {
		return ImportReport{}, err
	}
	rows, report, err := readImport(r)
	if err != nil {
		return ImportReport{}, err
	}
	if canManage == nil {
		canManage = func(*Member, []string) error { return nil }
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	tree, err := d.loadTree()
	if err != nil {
		return ImportReport{}, err
	}
	superAdmins, err := d.CountSuperAdmins()
	if err != nil {
		return ImportReport{}, err
	}
	imp := &importer{
		d:           d,
		tree:        tree,
		canManage:   canManage,
		superAdmins: superAdmins,
		ids:         make(map[string]int),
		mobiles:     make(map[string]int),
		emails:      make(map[string]int),
	}
	var changes []importChange
	for _, row := range rows {
		c, err := imp.row(row)
		if err != nil {
			report.Errors = append(report.Errors, RowError{Line: row.line, Reason: err.Error()})
			continue
		}
		changes = append(changes, c)
		if pw := row.get("password"); pw != "" {
			report.Passwords[c.after.ID] = pw
		}
	}
	slices.SortStableFunc(report.Errors, func(x, y RowError) int { return x.Line - y.Line })
	if len(changes) == 0 {
		return report, nil
	}

	t := now()
	err = d.db.Update(func(b *storage.Batch) error {
		for _, c := range changes {
			c.after.UpdatedAt = t
			action := "member.update"
			if c.before == nil {
				c.after.CreatedAt = t
				action = "member.create"
			}
			if err := putMember(b, c.before, &c.after); err != nil {
				return err
			}
			if err := d.appendAudit(b, a, t, change{action, "member", c.after.ID, c.before, c.after}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return ImportReport{}, fmt.Errorf("import members: %w", err)
	}
	for _, c := range changes {
		if c.before == nil {
			report.Created++
		} else {
			report.Updated++
		}
		if c.before != nil && c.before.Status == StatusActive && c.after.Status != StatusActive {
			report.Disabled = append(report.Disabled, c.after.ID)
		}
	}
	return report, nil
}

// readImport parses the whole file before anything is checked against
// the directory, so the size and row limits fail the import up front. Rows
// with the wrong number of fields are already row errors in the report.
func readImport(r io.Reader) ([]csvRow, ImportReport, error) {
	report := ImportReport{Errors: []RowError{}, Passwords: map[string]string{}}
	data, err := io.ReadAll(io.LimitReader(r, MaxImportBytes+1))
	if err != nil {
		return nil, report, fmt.Errorf("read import file: %w", err)
	}
	if len(data) > MaxImportBytes {
		return nil, report, invalidf("file", "is larger than %d bytes", MaxImportBytes)
	}
	data = bytes.TrimPrefix(data, []byte("\uFEFF")) // spreadsheet exports often start with a BOM
	cr := csv.NewReader(bytes.NewReader(data))
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, report, invalidf("file", "is empty; the first row must name the columns")
	}
	if err != nil {
		return nil, report, invalidf("file", "%v", err)
	}
	cols, err := parseHeader(header)
	if err != nil {
		return nil, report, err
	}
	var rows []csvRow
	records := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if records++; records > MaxImportRows {
			return nil, report, invalidf("file", "has more than %d rows", MaxImportRows)
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount) {
			report.Errors = append(report.Errors, RowError{
				Line:   pe.StartLine,
				Reason: fmt.Sprintf("has %d fields, the header has %d", len(rec), len(cols)),
			})
			continue
		}
		if err != nil {
			return nil, report, invalidf("file", "%v", err)
		}
		if allEmpty(rec) {
			continue
		}
		line, _ := cr.FieldPos(0)
		row := csvRow{line: line, fields: make(map[string]string, len(cols))}
		for i, col := range cols {
			row.fields[col] = rec[i]
		}
		rows = append(rows, row)
	}
	return rows, report, nil
}

// parseHeader maps the header cells to column names, refusing unknown,
// repeated and missing required columns.
func parseHeader(header []string) ([]string, error) {
	cols := make([]string, len(header))
	for i, h := range header {
		col := strings.ToLower(strings.TrimSpace(h))
		if !slices.Contains(importColumns, col) {
			return nil, invalidf("header", "column %q is not known; the columns are %s", h, strings.Join(importColumns, ", "))
		}
		if slices.Contains(cols[:i], col) {
			return nil, invalidf("header", "column %q appears twice", col)
		}
		cols[i] = col
	}
	for _, req := range importColumns[:3] {
		if !slices.Contains(cols, req) {
			return nil, invalidf("header", "required column %q is missing", req)
		}
	}
	return cols, nil
}

func allEmpty(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// importChange is one good row: the stored member (nil for a new one) and
// what it becomes.
type importChange struct {
	before *Member
	after  Member
}

// importer checks rows against the directory and against the rows
// accepted before them.
type importer struct {
	d           *Directory
	tree        *deptTree
	canManage   CanManageFunc
	superAdmins int // active super admins left after the accepted rows

	// Line of the accepted row that holds each id, mobile and email key.
	ids, mobiles, emails map[string]int
}

// row turns one CSV row into a change, or says why it cannot.
func (imp *importer) row(row csvRow) (importChange, error) {
	id := row.get("id")
	if err := checkMemberID(id); err != nil {
		return importChange{}, err
	}
	if line, dup := imp.ids[id]; dup {
		return importChange{}, fmt.Errorf("id %s already appears on line %d", id, line)
	}
	var c importChange
	m := Member{ID: id}
	stored, err := imp.d.GetMember(id)
	switch {
	case err == nil:
		c.before = &stored
		m = stored
		m.Departments = nil
		m.AdminDepartments = slices.Clone(stored.AdminDepartments)
	case !isNotFound(err):
		return importChange{}, err
	}

	m.Name = row.get("name")
	depts, err := imp.tree.resolve(row.get("departments"))
	if err != nil {
		return importChange{}, err
	}
	m.Departments = depts
	keepOrSet(&m.Mobile, row.get("mobile"))
	keepOrSet(&m.Email, row.get("email"))
	keepOrSet(&m.Position, row.get("position"))
	keepOrSet(&m.Gender, strings.ToLower(row.get("gender")))
	if v := row.get("status"); v != "" {
		m.Status = Status(strings.ToLower(v))
	}
	if err := normalize(&m, imp.tree.exists); err != nil {
		return importChange{}, err
	}

	scope := slices.Clone(m.Departments)
	if c.before != nil {
		for _, dept := range c.before.Departments {
			if !slices.Contains(scope, dept) {
				scope = append(scope, dept)
			}
		}
	}
	if err := imp.canManage(c.before, scope); err != nil {
		return importChange{}, err
	}

	if m.Mobile != "" {
		if line, dup := imp.mobiles[m.Mobile]; dup {
			return importChange{}, fmt.Errorf("mobile %s already appears on line %d", m.Mobile, line)
		}
	}
	if m.Email != "" {
		if line, dup := imp.emails[emailKey(m.Email)]; dup {
			return importChange{}, fmt.Errorf("email %s already appears on line %d", m.Email, line)
		}
	}
	if err := imp.d.checkUnique(m); err != nil {
		return importChange{}, err
	}
	disables := c.before != nil && c.before.Role == RoleSuperAdmin &&
		c.before.Status == StatusActive && m.Status != StatusActive
	if disables && imp.superAdmins <= 1 {
		return importChange{}, errors.New("would disable the last active super admin")
	}

	if disables {
		imp.superAdmins--
	}
	imp.ids[id] = row.line
	if m.Mobile != "" {
		imp.mobiles[m.Mobile] = row.line
	}
	if m.Email != "" {
		imp.emails[emailKey(m.Email)] = row.line
	}
	c.after = m
	return c, nil
}

// keepOrSet sets *field to v unless v is empty: an empty import cell
// keeps the current value.
func keepOrSet(field *string, v string) {
	if v != "" {
		*field = v
	}
}

// deptTree is the department tree loaded for one import, to resolve name
// paths without a read per path segment. It is never kept.
type deptTree struct {
	byID     map[string]Department
	children map[string]map[string]string // parent id -> child name -> child id
}

func (d *Directory) loadTree() (*deptTree, error) {
	t := &deptTree{byID: make(map[string]Department), children: make(map[string]map[string]string)}
	var decodeErr error
	err := d.db.ScanPrefix([]byte(storage.PrefixDepartment), func(k, v []byte) bool {
		var dept Department
		if decodeErr = json.Unmarshal(v, &dept); decodeErr != nil {
			decodeErr = fmt.Errorf("decode %q: %w", k, decodeErr)
			return false
		}
		t.byID[dept.ID] = dept
		if t.children[dept.ParentID] == nil {
			t.children[dept.ParentID] = make(map[string]string)
		}
		t.children[dept.ParentID][dept.Name] = dept.ID
		return true
	})
	if err == nil {
		err = decodeErr
	}
	if err != nil {
		return nil, fmt.Errorf("load departments: %w", err)
	}
	return t, nil
}

func (t *deptTree) exists(id string) (bool, error) {
	_, ok := t.byID[id]
	return ok, nil
}

// resolve turns a departments cell into department ids.
func (t *deptTree) resolve(cell string) ([]string, error) {
	var ids []string
	for _, entry := range strings.Split(cell, ";") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		if _, ok := t.byID[entry]; ok {
			ids = append(ids, entry)
			continue
		}
		id, ok := t.path(entry)
		if !ok {
			return nil, invalidf("departments", "unknown department %q", entry)
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil, invalidf("departments", "needs at least one department")
	}
	return ids, nil
}

// path resolves a name path that starts at the root.
func (t *deptTree) path(p string) (string, bool) {
	id := ""
	for _, name := range strings.Split(p, "/") {
		next, ok := t.children[id][strings.TrimSpace(name)]
		if !ok {
			return "", false
		}
		id = next
	}
	return id, true
}
