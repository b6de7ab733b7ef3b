// Package directory is the company address book: the department tree, the
// members who sit in it and the tags that group members across it. It
// validates every record, keeps the indexes that answer the address book's
// questions, and writes an audit entry (package audit) in the same synced
// batch as each change, so the log never disagrees with the data.
//
// Everything lives in Pebble under the dir/ prefixes of storage/keys.go;
// nothing is cached in memory, so there is no copy to go stale if the
// state is later shared between nodes by other means. Each record has one primary key and the indexes below,
// all rewritten in the batch that changes the record:
//
//	dir/dept/<id>                  Department, JSON
//	dir/dept-child/<parent>/<id>   children of a department: Children,
//	                               subtree walks, "is it empty?"
//	dir/member/<id>                Member, JSON; also the id-ordered scan
//	                               behind ListMembers without filters
//	dir/dept-member/<dept>/<id>    members of a department: ListMembers
//	                               by department, "is it empty?"
//	dir/member-mobile/<mobile>     -> member id; mobile is unique
//	dir/member-email/<email>       -> member id; lower-cased, unique
//	dir/tag/<id>                   Tag, JSON
//	dir/tag-member/<tag>/<id>      members of a tag
//	dir/member-tag/<id>/<tag>      tags of a member (the reverse index)
//	dir/seq/<kind>                 last department or tag id issued
//
// Department and tag ids are decimal strings from those counters; the root
// department, created by Bootstrap, is "1". Member ids are chosen by the
// company (they are also sign-in names) and validated so they never hold
// '/' or control bytes, which keeps the composite keys above unambiguous.
//
// Reads go straight to Pebble and need no lock. Mutations read, check and
// then commit, so one mutex inside Directory serializes them; that is
// plenty for an address book, whose writes are rare next to its reads.
package directory
