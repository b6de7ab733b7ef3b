// 简体中文。键与 en.js 相同；{name} 为占位符。
export default {
  ok: "确定", cancel: "取消", save: "保存", create: "创建", edit: "编辑", delete: "删除", close: "关闭", back: "返回",
  confirm: "请确认", loading: "加载中…", you: "你", system: "系统", "list.sep": "、",

  "login.username": "账号", "login.password": "密码", "login.submit": "登录",
  "login.tagline": "企业沟通：消息、通讯录与更多。",
  "login.expired": "登录已失效，请重新登录。",
  "login.offline": "无法连接服务器，请检查网络后重新登录。",

  "nav.chat": "消息", "nav.contacts": "通讯录", "nav.meetings": "会议", "nav.live": "直播", "nav.admin": "管理后台",
  "nav.language": "语言", "nav.signout": "退出登录",
  "conn.reconnecting": "连接已断开，正在重连…",

  "chat.search": "搜索", "chat.newGroup": "发起聊天", "chat.none": "暂无会话，点击 + 发起聊天。",
  "chat.pick": "选择一个会话", "chat.group": "群聊", "chat.older": "查看更早的消息",
  "chat.typing": "{names} 正在输入…", "chat.urgentReminder": "{name} 发来紧急消息，请尽快查看。",

  "compose.placeholder": "输入消息", "compose.send": "发送", "compose.hint": "Enter 发送，Shift+Enter 换行",
  "compose.emoji": "表情", "compose.image": "发送图片", "compose.file": "发送文件",
  "compose.urgentHint": "未读的人会收到强提醒", "compose.confidentialHint": "带水印，不可转发、复制",
  "compose.replying": "回复 {name}：", "compose.uploadFailed": "{name} 发送失败。",
  "compose.muted": "你已被禁言。", "compose.muteAll": "全员禁言中，仅群主和管理员可发言。",
  "compose.dissolved": "该群已解散。", "compose.removed": "你已不在此会话中。",

  "msg.urgent": "紧急", "msg.confidential": "保密", "msg.reply": "回复", "msg.recall": "撤回",
  "msg.recallConfirm": "撤回这条消息？", "msg.read": "已读", "msg.unread": "未读",
  "msg.allRead": "全部已读", "msg.readCount": "{read}/{total} 已读", "msg.sending": "发送中…", "msg.sent": "已发送",
  "msg.failed": "发送失败（{code}）", "msg.retry": "重发", "msg.discard": "删除", "msg.forwarded": "转发的聊天记录",
  "msg.download": "下载", "msg.preview": "查看图片", "mention.all": "所有人",

  "receipts.title": "消息接收人列表", "receipts.read": "已读", "receipts.unread": "未读",
  "recall.you": "你撤回了一条消息", "recall.other": "{name} 撤回了一条消息", "recall.quoted": "该消息已撤回",

  "preview.image": "[图片]", "preview.file": "[文件]", "preview.link": "[链接]", "preview.forward": "[聊天记录]",
  "preview.confidential": "[保密消息]", "preview.unsupported": "[暂不支持的消息]",

  "sys.created": "{actor} 创建了群聊", "sys.createdDirect": "你们已经可以开始聊天了",
  "sys.joined": "{actor} 邀请 {members} 加入了群聊", "sys.left": "{members} 退出了群聊",
  "sys.removed": "{actor} 将 {members} 移出了群聊", "sys.removedBySystem": "{members} 已被移出群聊（{reason}）",
  "sys.announcement": "{actor} 修改了群公告", "sys.renamed": "{actor} 将群名改为「{name}」",
  "sys.muteAllOn": "{actor} 开启了全员禁言", "sys.muteAllOff": "{actor} 关闭了全员禁言", "sys.updated": "{actor} 修改了群设置",
  "sys.admin": "{actor} 将 {members} 设为管理员", "sys.unadmin": "{actor} 取消了 {members} 的管理员身份",
  "sys.owner": "{members} 已成为新群主", "sys.muted": "{actor} 将 {members} 禁言", "sys.unmuted": "{actor} 解除了 {members} 的禁言",
  "sys.dissolved": "{actor} 解散了该群", "sys.other": "会话信息已变更",

  "group.info": "群聊信息", "group.create": "创建群聊", "group.name": "群聊名称", "group.announcement": "群公告",
  "group.noAnnouncement": "未设置", "group.muteAll": "全员禁言（仅群主和管理员可发言）", "group.members": "群成员",
  "group.memberCount": "{n} 人", "group.dissolved": "已解散", "group.partialMembers": "仅显示你入群以来已知的成员。",
  "group.makeAdmin": "设为管理员", "group.unadmin": "取消管理员", "group.mute": "禁言", "group.unmute": "解除禁言", "group.muted": "已禁言",
  "group.remove": "移出", "group.removeConfirm": "将 {name} 移出群聊？", "group.addMembers": "添加成员",
  "group.transfer": "转让群主", "group.leave": "退出群聊", "group.leaveConfirm": "确定退出该群？",
  "group.dissolve": "解散群聊", "group.dissolveConfirm": "确定解散该群？解散后不可恢复。",
  "group.role.owner": "群主", "group.role.admin": "管理员",

  "picker.search": "按姓名、账号、手机或邮箱搜索", "picker.none": "未找到成员",

  "contacts.search": "搜索成员", "contacts.departments": "组织架构", "contacts.tags": "标签", "contacts.noTags": "暂无标签",
  "contacts.empty": "暂无成员", "contacts.pick": "选择成员查看名片", "contacts.message": "发消息", "contacts.expand": "展开",

  "member.id": "账号", "member.name": "姓名", "member.department": "部门", "member.departments": "部门",
  "member.position": "职务", "member.mobile": "手机", "member.email": "邮箱", "member.gender": "性别",
  "member.nickname": "对外昵称", "member.title": "对外职务", "member.bio": "简介",
  "gender.male": "男", "gender.female": "女",
  "role.super_admin": "超级管理员", "role.dept_admin": "分级管理员", "role.member": "成员",

  "profile.title": "个人信息", "profile.password": "修改密码", "profile.oldPassword": "当前密码",
  "profile.newPassword": "新密码", "profile.passwordHint": "8 到 128 个字符", "profile.passwordChanged": "密码已修改，其他设备已退出登录。",

  "admin.tab.members": "成员", "admin.tab.departments": "部门", "admin.tab.tags": "标签", "admin.tab.roles": "角色", "admin.tab.audit": "操作日志",
  "admin.none": "暂无数据", "admin.searchMembers": "搜索成员", "admin.status": "状态", "admin.allStatuses": "全部",
  "admin.active": "正常", "admin.disabled": "已禁用", "admin.role": "角色", "admin.newMember": "添加成员",
  "admin.editMember": "编辑 {name}", "admin.idHint": "字母、数字及 _.@-，同时是登录账号，创建后不可修改",
  "admin.initialPassword": "初始密码", "admin.resetPassword": "重置密码", "admin.resetPasswordOf": "重置 {name} 的密码",
  "admin.disable": "禁用", "admin.enable": "启用", "admin.disableConfirm": "禁用 {name}？其所有设备将立即退出登录。",
  "admin.saved": "已保存", "admin.prev": "上一页", "admin.next": "下一页",
  "admin.import": "批量导入", "admin.importGo": "导入", "admin.csvFile": "CSV 文件", "admin.csvPick": "请选择 CSV 文件。",
  "admin.csvHint": "列：id、name、departments（必填）；mobile、email、position、gender、status、password",
  "admin.importReport": "导入结果", "admin.importCounts": "新增 {created}，更新 {updated}，{errors} 行有错误", "admin.line": "行", "admin.reason": "原因",
  "admin.department": "部门", "admin.parent": "上级部门", "admin.order": "排序", "admin.newDepartment": "添加部门",
  "admin.deleteDepartmentConfirm": "删除部门 {name}？",
  "admin.tag": "标签", "admin.newTag": "新建标签", "admin.rename": "重命名", "admin.addToTag": "添加成员", "admin.deleteTagConfirm": "删除标签 {name}？",
  "admin.rolesHint": "超级管理员可管理全部内容；分级管理员管理其负责部门的成员。",
  "admin.setRole": "设置角色", "admin.setRoleOf": "{name} 的角色", "admin.adminDepartments": "管理范围",
  "admin.adminDeptHint": "分级管理员负责的部门（含其下级部门）",

  "audit.time": "时间", "audit.actor": "操作人", "audit.action": "操作", "audit.target": "对象", "audit.ip": "IP 地址",
  "audit.details": "详情", "audit.before": "修改前", "audit.after": "修改后",

  "err.invalid_credentials": "账号或密码错误。", "err.member_disabled": "该账号已被禁用。",
  "err.rate_limited_login": "尝试次数过多，请 {s} 秒后再试。", "err.forbidden": "没有权限执行此操作。",
  "err.not_member": "你不在此会话中。", "err.dissolved": "该群已解散。", "err.too_large": "内容过大。",
  "err.conflict": "已被占用，或当前无法执行。", "err.weak_password": "密码需为 8 到 128 个字符。",
  "err.network": "无法连接服务器。", "err.disconnected": "未连接，恢复连接后将自动发送。",
  "err.timeout": "服务器响应超时。", "err.department_not_empty": "该部门下仍有成员或子部门。",
  "err.cycle": "不能将部门移动到其自身之下。", "err.limit_reached": "已达到上限。", "err.not_found": "未找到。",
};
