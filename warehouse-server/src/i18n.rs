//! The words people read: Simplified Chinese first, English switchable
//! (cookie `lang`). One table for the pages and for error reasons
//! ([`crate::error::Reason::zh`]); a missing key shows the key, which
//! tests catch.

/// The page language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
}

const WORDS: &[(&str, &str, &str)] = &[
    ("app", "公物仓管理系统", "Public Asset Warehouse"),
    ("login", "登录", "Log in"),
    ("logout", "退出", "Log out"),
    ("username", "用户名", "Username"),
    ("password", "密码", "Password"),
    ("old_password", "当前密码", "Current password"),
    ("new_password", "新密码", "New password"),
    ("change_password", "修改密码", "Change password"),
    (
        "password_changed",
        "密码已修改，其他设备上的登录已退出",
        "Password changed; your other sessions have ended",
    ),
    ("reset_password", "重置密码", "Reset password"),
    ("deactivate", "停用", "Deactivate"),
    ("reactivate", "启用", "Reactivate"),
    ("inactive", "已停用", "inactive"),
    (
        "bad_login",
        "用户名或密码错误",
        "Wrong username or password",
    ),
    ("dashboard", "工作台", "Dashboard"),
    ("inbox", "待办", "Inbox"),
    ("register", "资产台账", "Register"),
    ("requests", "申请", "Requests"),
    ("virtual_warehouse", "虚拟仓", "Virtual warehouse"),
    ("stocktakes", "盘点", "Stock-takes"),
    ("alarms", "出口报警", "Gate alarms"),
    ("reports", "报表", "Reports"),
    ("admin", "系统管理", "Administration"),
    ("search", "查询", "Search"),
    ("reset", "重置", "Reset"),
    ("all", "全部", "All"),
    ("state", "状态", "State"),
    ("category", "分类", "Category"),
    ("holder", "持有", "Holder"),
    ("name", "名称", "Name"),
    ("asset_number", "资产编号", "Asset number"),
    ("epc", "电子标签", "EPC"),
    ("model", "规格型号", "Model"),
    ("value", "原值（元）", "Value (yuan)"),
    ("condition", "状况", "Condition"),
    ("purchase_date", "购置日期", "Purchased"),
    ("last_seen", "最近读取", "Last seen"),
    ("columns", "显示列", "Columns"),
    ("apply", "应用", "Apply"),
    ("export_csv", "导出 CSV", "Export CSV"),
    ("export_selected", "导出所选", "Export selected"),
    ("selected", "已选", "Selected"),
    ("total", "共", "Total"),
    ("prev", "上一页", "Previous"),
    ("next", "下一页", "Next"),
    ("empty", "暂无数据", "Nothing here yet"),
    ("timeline", "资产履历", "Timeline"),
    ("tag_history", "标签记录", "Tag history"),
    ("waiting_on_me", "等待我处理", "Waiting on me"),
    ("assets_by_state", "资产状态分布", "Assets by state"),
    ("utilisation", "分类使用率", "Utilisation by category"),
    ("loans_due", "借用到期与逾期", "Loans due and overdue"),
    (
        "proceeds",
        "处置收入上缴（按月）",
        "Disposal proceeds by month",
    ),
    ("overdue", "逾期", "Overdue"),
    ("outstanding", "未归还", "Outstanding"),
    ("open_alarms", "未处理报警", "Open alarms"),
    ("notifications", "通知", "Notifications"),
    ("new_request", "新申请", "New request"),
    ("kind", "类型", "Kind"),
    ("stage", "环节", "Stage"),
    ("applicant", "申请人", "Applicant"),
    ("unit", "单位", "Unit"),
    ("reason", "事由", "Reason"),
    ("quantity", "数量", "Quantity"),
    ("budget", "预算（元）", "Budget (yuan)"),
    ("needed_by", "需用日期", "Needed by"),
    ("loan_start", "借用开始", "Loan start"),
    ("loan_due", "归还日期", "Due back"),
    ("submit", "提交", "Submit"),
    ("comment", "意见", "Comment"),
    ("approve", "同意", "Approve"),
    ("reject", "驳回", "Reject"),
    ("withdraw", "撤回", "Withdraw"),
    ("history", "审批记录", "History"),
    ("items", "资产明细", "Items"),
    ("documents", "附件", "Documents"),
    ("upload", "上传", "Upload"),
    ("created", "提交时间", "Filed"),
    ("confirm_receipt", "确认签收", "Confirm receipt"),
    ("desk", "出库台", "Desk"),
    ("start_scan", "开始扫描", "Start scanning"),
    ("desk_reader", "出库台读写器", "Desk reader"),
    ("scanned", "已扫描", "Scanned"),
    ("matched", "匹配", "Matched"),
    ("extras", "不符", "Not matching"),
    ("shortfall", "短缺", "Short"),
    ("check_out", "确认出库", "Check out"),
    ("accept_shortfall", "按实际数量出库", "Accept the shortfall"),
    ("return_items", "登记归还", "Record returns"),
    (
        "live_hint",
        "页面实时更新；若未更新，刷新即可看到最新结果。",
        "The page updates live; reload to see the latest if it does not.",
    ),
    ("expected", "应盘", "Expected"),
    ("found", "已盘到", "Found"),
    ("missing", "未盘到", "Missing"),
    ("misplaced", "位置不符", "Misplaced"),
    ("foreign", "外来标签", "Foreign"),
    ("reads_per_s", "读取/秒", "reads/s"),
    ("acknowledge", "确认处理", "Acknowledge"),
    ("ask_for_it", "申请调剂", "Ask for it"),
    (
        "list_idle",
        "发布到虚拟仓",
        "Offer in the virtual warehouse",
    ),
    ("notes", "说明", "Notes"),
    ("appraise", "登记评估", "Record appraisal"),
    ("appraised_value", "评估值（元）", "Appraised value (yuan)"),
    ("appraiser", "评估机构", "Appraiser"),
    ("report_ref", "报告编号", "Report number"),
    ("record_sale", "登记成交", "Record sale"),
    ("hammer_price", "成交价（元）", "Hammer price (yuan)"),
    ("buyer", "买受人", "Buyer"),
    ("confirm_remittance", "确认上缴国库", "Confirm remittance"),
    ("amount", "金额（元）", "Amount (yuan)"),
    ("treasury_ref", "缴款书编号", "Treasury receipt"),
    ("decide_cause", "认定原因", "Decide the cause"),
    ("cause", "原因", "Cause"),
    ("human", "人为", "Human"),
    ("natural", "自然损耗", "Natural wear"),
    ("responsible", "责任单位或个人", "Responsible party"),
    ("remedy", "处理方式", "Remedy"),
    ("repair", "维修", "Repair"),
    ("compensate", "按原值赔偿", "Compensate at original value"),
    ("confirm_payment", "确认到账", "Confirm payment"),
    ("compensation", "赔偿", "Compensation"),
    ("owed", "应收", "Owed"),
    ("paid", "实收", "Paid"),
    ("procure", "登记采购结果", "Record procurement"),
    ("supplier", "供应商", "Supplier"),
    ("contract_number", "合同号", "Contract number"),
    ("unit_price", "单价（元）", "Unit price (yuan)"),
    ("receive", "验收入库", "Receive"),
    ("location", "货位", "Location"),
    ("received", "实收数量", "Received"),
    ("confirm_delete", "确定要执行此操作吗？", "Are you sure?"),
    ("units", "单位", "Units"),
    ("users", "用户", "Users"),
    ("warehouses", "仓库与货位", "Warehouses and locations"),
    ("readers", "读写器", "Readers"),
    (
        "daemons",
        "读写器主机与所连读写器",
        "Reader daemons and their readers",
    ),
    ("daemon_id", "主机标识（daemon id）", "Daemon id"),
    (
        "daemon_readers",
        "所连读写器，每行一个：名称:角色[:货位编号]",
        "Its readers, one a line: NAME:ROLE[:LOCATION_ID]",
    ),
    ("revoked", "已吊销", "revoked"),
    ("categories", "资产分类", "Categories"),
    ("settings", "组织设置", "Organisation settings"),
    ("role", "角色", "Role"),
    ("create", "新建", "Create"),
    (
        "token_once",
        "读写器令牌（只显示这一次）",
        "Reader token (shown only once)",
    ),
    ("code", "代码", "Code"),
    ("level", "级别", "Level"),
    (
        "not_allowed",
        "您的角色不能执行此操作",
        "Your role may not do this",
    ),
    ("error", "出错了", "Something went wrong"),
    ("purchase", "采购", "Purchase"),
    ("allocation", "调配", "Allocation"),
    ("loan", "借用", "Loan"),
    ("transfer", "调剂", "Transfer"),
    ("intake", "交回", "Intake"),
    ("disposal", "处置", "Disposal"),
    ("damage", "损坏与丢失", "Damage and loss"),
    ("disposal_method", "处置方式", "Method"),
    ("scrap", "报废", "Scrap"),
    ("auction", "拍卖", "Auction"),
    ("transfer_out", "对外调出", "Transfer out"),
    ("loss", "丢失", "Lost"),
    (
        "asset_ids",
        "资产ID（逗号分隔）",
        "Asset ids (comma separated)",
    ),
    ("language", "English", "中文"),
    ("administrator", "系统管理员", "Administrator"),
    ("approver", "审批人", "Approver"),
    ("finance", "财政", "Finance"),
    ("keeper", "仓管员", "Keeper"),
    ("unit_staff", "单位资产管理员", "Unit staff"),
    ("in_stock", "在库", "In stock"),
    ("allocated", "已调配", "Allocated"),
    ("on_loan", "借出", "On loan"),
    ("in_transit", "出库在途", "In transit"),
    ("listed_idle", "虚拟仓闲置", "Listed idle"),
    ("under_repair", "维修中", "Under repair"),
    ("disposal_pending", "待处置", "Disposal pending"),
    ("lost", "丢失", "Lost"),
    ("disposed", "已处置", "Disposed"),
    ("new", "全新", "New"),
    ("good", "完好", "Good"),
    ("worn", "磨损", "Worn"),
    ("damaged", "损坏", "Damaged"),
    ("appraisal", "评估", "Appraisal"),
    ("approval", "审批", "Approval"),
    ("finance_stage", "财政审核", "Finance review"),
    ("procurement", "采购", "Procurement"),
    ("receiving", "入库", "Receiving"),
    ("checkout", "出库", "Check-out"),
    ("receipt", "签收", "Receipt"),
    ("sale", "拍卖", "Sale"),
    ("remittance", "上缴", "Remittance"),
    ("payment", "缴款", "Payment"),
    ("completed", "已办结", "Completed"),
    ("rejected", "已驳回", "Rejected"),
    ("withdrawn", "已撤回", "Withdrawn"),
    ("open", "进行中", "Open"),
    ("closed", "已结束", "Closed"),
    ("acknowledged", "已处理", "Acknowledged"),
    ("no_tag", "未写标签", "No tag yet"),
    ("photo", "照片", "Photo"),
    ("org_name", "组织名称", "Organisation name"),
    ("save", "保存", "Save"),
    (
        "prefix_fixed",
        "（已写入标签的编码依赖此前缀，系统初始化后不可更改）",
        "(tags already written depend on it; fixed after initialisation)",
    ),
    ("open_stocktake", "开始盘点", "Open a stock-take"),
    (
        "close_stocktake",
        "结束盘点并保存报告",
        "Close and keep the report",
    ),
    ("differences", "差异处理", "Differences"),
    ("resolve", "处理", "Settle"),
    ("relocate", "更正货位", "Relocate"),
    (
        "mark_missing",
        "报失（转损失案件）",
        "Mark missing (loss case)",
    ),
    ("ignore", "忽略", "Ignore"),
    (
        "reuse_first",
        "可调剂的库存与虚拟仓资产",
        "Stock and idle listings that could fulfil it",
    ),
    ("fulfil", "以调剂满足", "Fulfil from these"),
];

/// The word for `key` in `lang`.
pub fn t(lang: Lang, key: &str) -> &'static str {
    // The finance *stage* shares its key with the finance *role*.
    let key = if key == "finance_review" {
        "finance_stage"
    } else {
        key
    };
    match WORDS.iter().find(|(k, _, _)| *k == key) {
        Some((_, zh, en)) => match lang {
            Lang::Zh => zh,
            Lang::En => en,
        },
        None => "?",
    }
}

/// Words for enum values (states, stages, roles…) by their API spelling;
/// unknown values show as they are.
pub fn tv(lang: Lang, value: &str) -> String {
    let key = if value == "finance" { "finance" } else { value };
    match WORDS.iter().find(|(k, _, _)| *k == key) {
        Some((_, zh, en)) => match lang {
            Lang::Zh => (*zh).to_owned(),
            Lang::En => (*en).to_owned(),
        },
        None => value.to_owned(),
    }
}

/// Chinese names of form fields (API spelling), for messages.
pub fn field_label(field: &str) -> &'static str {
    match field {
        "category_id" => "分类",
        "quantity" => "数量",
        "asset_ids" => "资产",
        "budget_fen" => "预算",
        "reason" => "事由",
        "needed_by" => "需用日期",
        "loan_start" => "借用开始日期",
        "loan_due" => "归还日期",
        "comment" => "意见",
        "amount_fen" => "金额",
        "appraised_value_fen" => "评估值",
        "appraiser" => "评估机构",
        "report_ref" => "报告编号",
        "hammer_price_fen" => "成交价",
        "buyer" => "买受人",
        "treasury_ref" => "缴款书编号",
        "responsible" => "责任单位或个人",
        "remedy" => "处理方式",
        "supplier" => "供应商",
        "contract_number" => "合同号",
        "unit_price_fen" => "单价",
        "location_id" => "货位",
        "received" => "实收数量",
        "epcs" => "电子标签",
        "items" => "归还资产",
        "content-type" | "body" => "附件",
        "name" => "名称",
        "daemon_id" => "主机标识",
        "readers" => "所连读写器",
        "page" => "页码",
        "per_page" => "每页条数",
        "warehouse_id" => "仓库",
        "reader_id" => "读写器",
        "action" => "处理方式",
        "filename" => "文件名",
        "disposal_method" => "处置方式",
        "original_value_fen" => "原值",
        "total_fen" => "总金额",
        "purchase_date" => "购置日期",
        "asset_number" => "资产编号",
        "company_prefix" => "厂商识别代码",
        "status" => "状态",
        "format" => "格式",
        "epc" => "电子标签",
        "form" => "表单",
        "unit_id" => "单位",
        "holder_location_id" => "存放货位",
        "holder_unit_id" => "持有单位",
        "reader_ids" => "读写器",
        "username" => "用户名",
        "kind" => "申请类型",
        "stage" => "阶段",
        "asset_numbers" => "资产编号",
        "password" => "密码",
        "old_password" => "当前密码",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_unique_and_both_languages_are_filled() {
        let mut seen = std::collections::HashSet::new();
        for (k, zh, en) in WORDS {
            assert!(seen.insert(*k), "key {k} twice");
            assert!(!zh.is_empty() && !en.is_empty(), "{k} has an empty word");
        }
        assert_eq!(t(Lang::Zh, "login"), "登录");
        assert_eq!(t(Lang::En, "login"), "Log in");
        assert_eq!(tv(Lang::Zh, "on_loan"), "借出");
        assert_eq!(tv(Lang::Zh, "unheard_of"), "unheard_of");
    }
}
