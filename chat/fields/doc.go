// Package fields checks the free-form fields people type into Parley
// (names, short texts, avatar URLs) the same way everywhere, so a name
// accepted in the directory is accepted in a group too. Errors describe the
// problem without naming the field; callers add the field name and their
// own error kind.
package fields
