// English strings. Keys are grouped by screen; {name} is a placeholder.
export default {
  ok: "OK", cancel: "Cancel", save: "Save", create: "Create", edit: "Edit", delete: "Delete", close: "Close", back: "Back",
  confirm: "Please confirm", loading: "Loading…", you: "You", system: "System", "list.sep": ", ",

  "login.username": "Username", "login.password": "Password", "login.submit": "Sign in",
  "login.tagline": "Chat, contacts and more for your organization.",
  "login.expired": "Your session ended. Please sign in again.",
  "login.offline": "Cannot reach the server. Check the connection and sign in again.",

  "nav.chat": "Messages", "nav.contacts": "Contacts", "nav.meetings": "Meetings", "nav.live": "Live", "nav.admin": "Admin",
  "nav.language": "Language", "nav.signout": "Sign out",
  "conn.reconnecting": "Connection lost. Reconnecting…",

  "chat.search": "Search", "chat.newGroup": "New chat", "chat.none": "No conversations yet. Start one with +.",
  "chat.pick": "Select a conversation", "chat.group": "Group chat", "chat.older": "Load earlier messages",
  "chat.typing": "{names} is typing…", "chat.urgentReminder": "Urgent message from {name}: please read it.",

  "compose.placeholder": "Type a message", "compose.send": "Send", "compose.hint": "Enter to send, Shift+Enter for a new line",
  "compose.emoji": "Emoji", "compose.image": "Send image", "compose.file": "Send file",
  "compose.urgentHint": "Remind everyone who has not read it", "compose.confidentialHint": "Watermarked; cannot be forwarded or copied",
  "compose.replying": "Replying to {name}:", "compose.uploadFailed": "Could not send {name}.",
  "compose.muted": "You are muted in this group.", "compose.muteAll": "Only the owner and admins can speak now.",
  "compose.dissolved": "This group was dissolved.", "compose.removed": "You are no longer in this conversation.",

  "msg.urgent": "Urgent", "msg.confidential": "Confidential", "msg.reply": "Reply", "msg.recall": "Recall",
  "msg.recallConfirm": "Recall this message for everyone?", "msg.read": "Read", "msg.unread": "Unread",
  "msg.allRead": "All read", "msg.readCount": "{read}/{total} read", "msg.sending": "Sending…", "msg.sent": "Sent",
  "msg.failed": "Not sent ({code})", "msg.retry": "Retry", "msg.discard": "Delete", "msg.forwarded": "Forwarded messages",
  "msg.download": "Download", "msg.preview": "Preview image", "mention.all": "All",

  "receipts.title": "Read by", "receipts.read": "Read", "receipts.unread": "Unread",
  "recall.you": "You recalled a message", "recall.other": "{name} recalled a message", "recall.quoted": "Recalled message",

  "preview.image": "[Image]", "preview.file": "[File]", "preview.link": "[Link]", "preview.forward": "[Forwarded messages]",
  "preview.confidential": "[Confidential message]", "preview.unsupported": "[Unsupported message]",

  "sys.created": "{actor} created the group", "sys.createdDirect": "You can chat now",
  "sys.joined": "{actor} added {members}", "sys.left": "{members} left the group",
  "sys.removed": "{actor} removed {members}", "sys.removedBySystem": "{members} was removed ({reason})",
  "sys.announcement": "{actor} updated the announcement", "sys.renamed": "{actor} renamed the group to \u201c{name}\u201d",
  "sys.muteAllOn": "{actor} turned on mute all", "sys.muteAllOff": "{actor} turned off mute all", "sys.updated": "{actor} changed the group settings",
  "sys.admin": "{actor} made {members} an admin", "sys.unadmin": "{actor} removed {members} as admin",
  "sys.owner": "{members} is now the group owner", "sys.muted": "{actor} muted {members}", "sys.unmuted": "{actor} unmuted {members}",
  "sys.dissolved": "{actor} dissolved the group", "sys.other": "The conversation changed",

  "group.info": "Group info", "group.create": "New group", "group.name": "Group name", "group.announcement": "Announcement",
  "group.noAnnouncement": "None", "group.muteAll": "Mute all (only owner and admins can speak)", "group.members": "Members",
  "group.memberCount": "{n} members", "group.dissolved": "Dissolved", "group.partialMembers": "Showing members known since you joined.",
  "group.makeAdmin": "Make admin", "group.unadmin": "Remove admin", "group.mute": "Mute", "group.unmute": "Unmute", "group.muted": "Muted",
  "group.remove": "Remove", "group.removeConfirm": "Remove {name} from the group?", "group.addMembers": "Add members",
  "group.transfer": "Transfer ownership", "group.leave": "Leave group", "group.leaveConfirm": "Leave this group?",
  "group.dissolve": "Dissolve group", "group.dissolveConfirm": "Dissolve this group for everyone? It cannot be undone.",
  "group.role.owner": "Owner", "group.role.admin": "Admin",

  "picker.search": "Search by name, id, mobile or email", "picker.none": "No one found",

  "contacts.search": "Search members", "contacts.departments": "Organization", "contacts.tags": "Tags", "contacts.noTags": "No tags",
  "contacts.empty": "No members", "contacts.pick": "Select a member to see their card", "contacts.message": "Send message", "contacts.expand": "Expand",

  "member.id": "Username", "member.name": "Name", "member.department": "Department", "member.departments": "Departments",
  "member.position": "Position", "member.mobile": "Mobile", "member.email": "Email", "member.gender": "Gender",
  "member.nickname": "Nickname", "member.title": "Title", "member.bio": "About",
  "gender.male": "Male", "gender.female": "Female",
  "role.super_admin": "Super admin", "role.dept_admin": "Department admin", "role.member": "Member",

  "profile.title": "My profile", "profile.password": "Change password", "profile.oldPassword": "Current password",
  "profile.newPassword": "New password", "profile.passwordHint": "8 to 128 characters", "profile.passwordChanged": "Password changed. Other devices are signed out.",

  "admin.tab.members": "Members", "admin.tab.departments": "Departments", "admin.tab.tags": "Tags", "admin.tab.roles": "Roles", "admin.tab.audit": "Audit log",
  "admin.none": "Nothing here", "admin.searchMembers": "Search members", "admin.status": "Status", "admin.allStatuses": "All",
  "admin.active": "Active", "admin.disabled": "Disabled", "admin.role": "Role", "admin.newMember": "New member",
  "admin.editMember": "Edit {name}", "admin.idHint": "Letters, digits and _.@-; it is also the sign-in name and cannot change",
  "admin.initialPassword": "Initial password", "admin.resetPassword": "Reset password", "admin.resetPasswordOf": "Reset the password of {name}",
  "admin.disable": "Disable", "admin.enable": "Enable", "admin.disableConfirm": "Disable {name}? They are signed out at once.",
  "admin.saved": "Saved", "admin.prev": "Previous", "admin.next": "Next",
  "admin.import": "Import CSV", "admin.importGo": "Import", "admin.csvFile": "CSV file", "admin.csvPick": "Choose a CSV file.",
  "admin.csvHint": "Columns: id, name, departments (required); mobile, email, position, gender, status, password",
  "admin.importReport": "Import report", "admin.importCounts": "{created} created, {updated} updated, {errors} rows with errors", "admin.line": "Line", "admin.reason": "Reason",
  "admin.department": "Department", "admin.parent": "Parent department", "admin.order": "Order", "admin.newDepartment": "New department",
  "admin.deleteDepartmentConfirm": "Delete the department {name}?",
  "admin.tag": "Tag", "admin.newTag": "New tag", "admin.rename": "Rename", "admin.addToTag": "Add members", "admin.deleteTagConfirm": "Delete the tag {name}?",
  "admin.rolesHint": "Super admins manage everything; department admins manage the members of their departments.",
  "admin.setRole": "Set a role", "admin.setRoleOf": "Role of {name}", "admin.adminDepartments": "Administered departments",
  "admin.adminDeptHint": "For department admins: the department (with everything below it) they administer",

  "audit.time": "Time", "audit.actor": "Actor", "audit.action": "Action", "audit.target": "Target", "audit.ip": "IP address",
  "audit.details": "Details", "audit.before": "Before", "audit.after": "After",

  "err.invalid_credentials": "Wrong username or password.", "err.member_disabled": "This account is disabled.",
  "err.rate_limited_login": "Too many attempts. Try again in {s} seconds.", "err.forbidden": "You are not allowed to do that.",
  "err.not_member": "You are not in this conversation.", "err.dissolved": "This group was dissolved.", "err.too_large": "Too large.",
  "err.conflict": "That is already taken, or not possible now.", "err.weak_password": "The password must have 8 to 128 characters.",
  "err.network": "Cannot reach the server.", "err.disconnected": "Not connected. It will be sent when the connection is back.",
  "err.timeout": "The server did not answer in time.", "err.department_not_empty": "The department still has members or sub-departments.",
  "err.cycle": "A department cannot move under itself.", "err.limit_reached": "A limit was reached.", "err.not_found": "Not found.",
};
