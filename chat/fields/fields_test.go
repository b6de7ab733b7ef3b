package fields

import (
	"strings"
	"testing"
)

func TestText(t *testing.T) {
	for _, c := range []struct {
		in        string
		max       int
		multiline bool
		forbid    string
		want      string
		err       string
	}{
		{"  Sales  ", 10, false, "", "Sales", ""},
		{"", 10, false, "", "", ""},
		{"销售部", 3, false, "", "销售部", ""},
		{"销售部门", 3, false, "", "", "has 4 characters, the limit is 3"},
		{"a\nb", 10, false, "", "", "control characters"},
		{"a\nb\tc", 10, true, "", "a\nb\tc", ""},
		{"a/b", 10, false, "/;", "", `must not contain '/'`},
		{"a\xffb", 10, false, "", "", "UTF-8"},
	} {
		got, err := Text(c.in, c.max, c.multiline, c.forbid)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("Text(%q) = %q, %v; want error %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Text(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestAvatarURL(t *testing.T) {
	for in, ok := range map[string]bool{
		"":                              true,
		"https://cdn.example.com/a.png": true,
		"/api/v1/files/abc":             true,
		"javascript:alert(1)":           false,
		"data:image/png;base64,xx":      false,
		"//evil.example.com/a.png":      false,
		"ftp://example.com/a.png":       false,
	} {
		if _, err := AvatarURL(in, 100); (err == nil) != ok {
			t.Errorf("AvatarURL(%q): err %v, want ok=%v", in, err, ok)
		}
	}
	if _, err := AvatarURL("https://x.example/"+strings.Repeat("a", 100), 100); err == nil {
		t.Error("over-long URL accepted")
	}
}
