// Package quickreply keeps the quick-reply library (快捷回复库): short
// canned texts that members insert into chats, grouped into categories.
//
// There are two kinds of library. Each member has a personal one, which
// only they see and change. The enterprise library is visible to every
// member and managed by super admins; each change to it is written to the
// audit log in the same batch as the change. The package does not decide
// who is a super admin: the API's route table does, and this package
// trusts the Actor it is given.
//
// Every item belongs to a category of its own library, and a category
// that still holds items cannot be deleted. Libraries are small and
// bounded (Limits), so listing and counting scan them whole.
package quickreply
