//! Errors of the spreadsheet reader and writers.
//!
//! Owns the one error type of `tabular`: a stable SCREAMING_SNAKE `code()` per variant for
//! the API and logs, and a Chinese `Display` that tells a school clerk what to do. It must
//! never put internal detail into a user message: `Corrupt` carries an English detail for
//! logs only, and its `Display` does not show it.

/// How many merged ranges a `MergedCells` message lists before it says "等 N 处".
const MERGED_RANGES_SHOWN: usize = 5;

/// Why a spreadsheet could not be read (or, for `Corrupt`, written).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TabularError {
    #[error("文件超过 {limit_mb} MB，请拆分后分批导入")]
    TooLarge { limit_mb: usize },

    #[error("仅支持 .xlsx 和 .csv 文件；.xls 请在 Excel 中另存为 .xlsx")]
    UnsupportedFormat,

    #[error("文件不是有效的 Excel 工作簿（.xlsx），请在 Excel 中打开后另存为 .xlsx 再上传")]
    NotAWorkbook,

    #[error(
        "工作簿解压后内容过大或结构异常，请删除无关的工作表和图片后重新保存，或拆分后分批导入"
    )]
    WorkbookTooLarge,

    #[error("文件设置了打开密码，请在 Excel 中取消密码后另存为 .xlsx 再上传")]
    EncryptedWorkbook,

    #[error("文件是空的，请填写数据后重新上传")]
    EmptyFile,

    #[error("工作表“{sheet}”没有内容，请在第一行填写表头、从第二行起填写数据")]
    EmptySheet { sheet: String },

    #[error("工作表“{sheet}”只有表头没有数据，请从表头下一行开始填写数据")]
    NoData { sheet: String },

    #[error("工作表“{sheet}”中有合并单元格（{}），请取消合并单元格后重新上传", list_ranges(.ranges))]
    MergedCells { sheet: String, ranges: Vec<String> },

    #[error("无法识别文件编码，请用 Excel 另存为“CSV UTF-8”或 .xlsx")]
    BadEncoding,

    #[error("工作表“{sheet}”的数据超过 {limit} 行，请拆分后分批导入")]
    TooManyRows { sheet: String, limit: usize },

    #[error("工作表“{sheet}”超过 {limit} 列，请删除模板以外的列后重新上传")]
    TooManyColumns { sheet: String, limit: usize },

    #[error("工作表“{sheet}”第{row}行{column}列的内容过长，请精简后重新上传")]
    CellTooLong {
        sheet: String,
        row: u32,
        column: String,
    },

    #[error("工作表“{sheet}”的表头“{header}”出现了不止一次，请删除或重命名重复的列")]
    DuplicateHeader { sheet: String, header: String },

    #[error("工作表“{sheet}”第{row}行在表头以外的列填写了内容，请删除多余内容或补上表头")]
    ExtraCells { sheet: String, row: u32 },

    /// The detail is English, for logs; users only see the fixed message.
    #[error("文件已损坏，无法读取")]
    Corrupt(String),
}

impl TabularError {
    /// Stable machine-readable code; clients and dashboards key on it, so never rename one.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "FILE_TOO_LARGE",
            Self::UnsupportedFormat => "UNSUPPORTED_FORMAT",
            Self::NotAWorkbook => "NOT_A_WORKBOOK",
            Self::WorkbookTooLarge => "WORKBOOK_TOO_LARGE",
            Self::EncryptedWorkbook => "ENCRYPTED_WORKBOOK",
            Self::EmptyFile => "EMPTY_FILE",
            Self::EmptySheet { .. } => "EMPTY_SHEET",
            Self::NoData { .. } => "NO_DATA",
            Self::MergedCells { .. } => "MERGED_CELLS",
            Self::BadEncoding => "BAD_ENCODING",
            Self::TooManyRows { .. } => "TOO_MANY_ROWS",
            Self::TooManyColumns { .. } => "TOO_MANY_COLUMNS",
            Self::CellTooLong { .. } => "CELL_TOO_LONG",
            Self::DuplicateHeader { .. } => "DUPLICATE_HEADER",
            Self::ExtraCells { .. } => "EXTRA_CELLS",
            Self::Corrupt(_) => "CORRUPT_FILE",
        }
    }
}

fn list_ranges(ranges: &[String]) -> String {
    let shown = ranges
        .iter()
        .take(MERGED_RANGES_SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join("、");
    if ranges.len() > MERGED_RANGES_SHOWN {
        format!("{shown} 等 {} 处", ranges.len())
    } else {
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_large_message_names_the_limit() {
        let e = TabularError::TooLarge { limit_mb: 10 };
        assert_eq!(e.to_string(), "文件超过 10 MB，请拆分后分批导入");
        assert_eq!(e.code(), "FILE_TOO_LARGE");
    }

    #[test]
    fn corrupt_message_hides_the_detail() {
        let e = TabularError::Corrupt("inflate failed at offset 42".into());
        assert_eq!(e.to_string(), "文件已损坏，无法读取");
        assert_eq!(e.code(), "CORRUPT_FILE");
    }

    #[test]
    fn merged_cells_message_lists_at_most_five_ranges() {
        let ranges: Vec<String> = (1..=7).map(|i| format!("A{i}:B{i}")).collect();
        let e = TabularError::MergedCells {
            sheet: "学生".into(),
            ranges,
        };
        let msg = e.to_string();
        assert!(
            msg.contains("A1:B1、A2:B2、A3:B3、A4:B4、A5:B5 等 7 处"),
            "{msg}"
        );
        assert!(!msg.contains("A6:B6"));
        assert!(msg.contains("请取消合并单元格后重新上传"));
    }
}
