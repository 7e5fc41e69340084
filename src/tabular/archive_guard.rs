//! The zip-bomb defence: an .xlsx archive is inflated entry by entry, counting the bytes
//! that really come out, before calamine is allowed to open it.
//!
//! Owns the archive limits (entries, total inflated bytes, inflation ratio per entry) and
//! the check that a shared-string count is one the archive's bytes could hold (calamine
//! reserves that many strings up front). It must never trust a size the archive declares:
//! declared sizes may reject early, never accept.

use std::io::{Cursor, Read};

use zip::result::ZipError;
use zip::ZipArchive;

use super::read::Limits;
use super::TabularError;

/// Zip-bomb thresholds. Real workbooks have a few dozen parts and inflate 5–20 times;
/// deflate cannot exceed about 1,032 times.
const MAX_ZIP_ENTRIES: usize = 1_000;
const MAX_ENTRY_RATIO: u64 = 500;
/// Below this many inflated bytes an entry's ratio is not judged (tiny parts of repeated
/// XML compress very well and are harmless).
const RATIO_FLOOR_BYTES: u64 = 1024 * 1024;
const INFLATE_CHUNK: usize = 64 * 1024;
/// The smallest shared string Excel writes, `<si><t/></si>`, rounded down.
const MIN_SHARED_STRING_BYTES: u64 = 8;

/// Inflates every entry of the archive, counting the bytes that actually come out, and
/// stops as soon as the workbook proves too big. Declared sizes are only used to reject
/// early, never to accept. Calamine opens the same bytes with the same zip library, which
/// in turn refuses to inflate any entry past its declared size, so what it reads is what
/// was counted here.
pub(super) fn check_archive(bytes: &[u8], limits: &Limits) -> Result<(), TabularError> {
    let mut archive =
        ZipArchive::new(Cursor::new(bytes)).map_err(|_| TabularError::NotAWorkbook)?;
    if archive.len() > MAX_ZIP_ENTRIES {
        return Err(TabularError::WorkbookTooLarge);
    }

    let limit = limits.max_uncompressed_bytes;
    let mut total: u64 = 0;
    let mut chunk = vec![0u8; INFLATE_CHUNK];
    for index in 0..archive.len() {
        let mut entry = match archive.by_index(index) {
            Ok(entry) => entry,
            Err(ZipError::UnsupportedArchive(msg)) if msg == ZipError::PASSWORD_REQUIRED => {
                return Err(TabularError::EncryptedWorkbook)
            }
            Err(_) => return Err(TabularError::NotAWorkbook),
        };
        let compressed = entry.compressed_size().max(1);
        let declared = entry.size();
        if declared > limit
            || (declared > RATIO_FLOOR_BYTES && declared / compressed > MAX_ENTRY_RATIO)
        {
            return Err(TabularError::WorkbookTooLarge);
        }

        let mut produced: u64 = 0;
        let mut counts = UniqueCountScanner::default();
        loop {
            let n = match entry.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => {
                    counts.feed(chunk.get(..n).unwrap_or_default());
                    n as u64
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) if inflates_past_declared_size(&e) => {
                    return Err(TabularError::WorkbookTooLarge)
                }
                Err(e) => {
                    return Err(TabularError::Corrupt(format!(
                        "xlsx inflating archive entry: {e}"
                    )))
                }
            };
            produced += n;
            total += n;
            if total > limit
                || (produced > RATIO_FLOOR_BYTES && produced / compressed > MAX_ENTRY_RATIO)
            {
                return Err(TabularError::WorkbookTooLarge);
            }
        }
        if counts.largest > produced / MIN_SHARED_STRING_BYTES {
            return Err(TabularError::WorkbookTooLarge);
        }
    }
    Ok(())
}

/// Finds the largest `uniqueCount="N"` in a stream of XML. Calamine reserves N shared
/// strings before reading any, so a file that declares billions in a few bytes would make
/// the process abort on allocation; a real count is bounded by the bytes of its entries.
#[derive(Default)]
struct UniqueCountScanner {
    state: CountScan,
    value: u64,
    largest: u64,
}

#[derive(Default, Clone, Copy)]
enum CountScan {
    #[default]
    Name,
    /// This many bytes of the attribute name matched.
    NameAt(usize),
    BeforeEquals,
    BeforeQuote,
    Digits,
}

impl UniqueCountScanner {
    const NAME: &'static [u8] = b"uniqueCount";

    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.state = self.step(b);
        }
    }

    fn restart(b: u8) -> CountScan {
        if Self::NAME.first() == Some(&b) {
            CountScan::NameAt(1)
        } else {
            CountScan::Name
        }
    }

    fn step(&mut self, b: u8) -> CountScan {
        match self.state {
            CountScan::Name => Self::restart(b),
            CountScan::NameAt(k) => match Self::NAME.get(k) {
                Some(&want) if want == b && k + 1 == Self::NAME.len() => CountScan::BeforeEquals,
                Some(&want) if want == b => CountScan::NameAt(k + 1),
                _ => Self::restart(b),
            },
            CountScan::BeforeEquals => match b {
                b'=' => CountScan::BeforeQuote,
                b if b.is_ascii_whitespace() => CountScan::BeforeEquals,
                b => Self::restart(b),
            },
            CountScan::BeforeQuote => match b {
                b'"' | b'\'' => {
                    self.value = 0;
                    CountScan::Digits
                }
                b if b.is_ascii_whitespace() => CountScan::BeforeQuote,
                b => Self::restart(b),
            },
            CountScan::Digits => match b {
                b'0'..=b'9' => {
                    self.value = self
                        .value
                        .saturating_mul(10)
                        .saturating_add(u64::from(b - b'0'));
                    CountScan::Digits
                }
                b'+' if self.value == 0 => CountScan::Digits,
                b => {
                    self.largest = self.largest.max(self.value);
                    Self::restart(b)
                }
            },
        }
    }
}

/// The zip library stops an entry that inflates to more than its header declares; that lie
/// is the signature of a crafted bomb, not of a damaged file.
fn inflates_past_declared_size(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::InvalidData
        && e.to_string().contains("larger than its declared")
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use zip::write::SimpleFileOptions;
    use zip::{CompressionMethod, ZipWriter};

    use super::*;
    use crate::tabular::fixtures::{one_sheet, read_default, write_row, zeros_zip, zip_of};
    use crate::tabular::read;
    use crate::tabular::read::MIB;

    #[test]
    fn a_zip_bomb_of_300_mib_is_rejected_without_inflating_it() {
        let bytes = zeros_zip("xl/worksheets/sheet1.xml", 300);
        assert!(bytes.len() < 2 * MIB, "fixture is {} bytes", bytes.len());
        assert_eq!(
            read_default(&bytes, "a.xlsx"),
            Err(TabularError::WorkbookTooLarge)
        );
    }

    /// Overwrites the uncompressed size in the local header and the central directory.
    fn lie_about_size(bytes: &mut [u8], size: u32) {
        let local = bytes.windows(4).position(|w| w == b"PK\x03\x04").unwrap();
        bytes[local + 22..local + 26].copy_from_slice(&size.to_le_bytes());
        let central = bytes.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
        bytes[central + 24..central + 28].copy_from_slice(&size.to_le_bytes());
    }

    #[test]
    fn a_zip_bomb_whose_headers_lie_about_the_size_is_rejected() {
        let mut bytes = zeros_zip("xl/worksheets/sheet1.xml", 300);
        lie_about_size(&mut bytes, 1_000);
        assert_eq!(
            read_default(&bytes, "a.xlsx"),
            Err(TabularError::WorkbookTooLarge)
        );
    }

    #[test]
    fn the_inflated_total_is_counted_across_entries() {
        // Digits of a cheap generator: barely compressible, so no ratio check fires.
        let mut seed: u32 = 7;
        let noise: Vec<u8> = (0..600 * 1024)
            .map(|_| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                b'0' + ((seed >> 16) % 10) as u8
            })
            .collect();
        let bytes = zip_of(&[("a.xml", &noise), ("b.xml", &noise), ("c.xml", &noise)]);
        let limits = Limits {
            max_uncompressed_bytes: MIB as u64,
            ..Limits::default()
        };
        assert_eq!(
            read(&bytes, "a.xlsx", &limits),
            Err(TabularError::WorkbookTooLarge)
        );
    }

    /// Copies an archive, letting `edit` change each entry's bytes.
    fn rezip(bytes: &[u8], edit: impl Fn(&str, Vec<u8>) -> Vec<u8>) -> Vec<u8> {
        let mut archive = ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut out = ZipWriter::new(Cursor::new(Vec::new()));
        let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
        for i in 0..archive.len() {
            let mut entry = archive.by_index(i).unwrap();
            let name = entry.name().unwrap().to_string();
            let mut data = Vec::new();
            entry.read_to_end(&mut data).unwrap();
            out.start_file(name.as_str(), options).unwrap();
            out.write_all(&edit(&name, data)).unwrap();
        }
        out.finish().unwrap().into_inner()
    }

    #[test]
    fn a_shared_string_count_that_the_file_cannot_hold_is_rejected() {
        let honest = one_sheet(&|ws| {
            write_row(ws, 0, &["姓名"]);
            write_row(ws, 1, &["张三"]);
        });
        let same = rezip(&honest, |_, data| data);
        assert_eq!(read_default(&same, "a.xlsx").unwrap()[0].rows.len(), 1);

        let lying = rezip(&honest, |name, data| {
            if name != "xl/sharedStrings.xml" {
                return data;
            }
            let xml = String::from_utf8(data).unwrap();
            assert!(xml.contains("uniqueCount=\"2\""), "{xml}");
            xml.replace("uniqueCount=\"2\"", "uniqueCount = '4000000000000'")
                .into_bytes()
        });
        assert_eq!(
            read_default(&lying, "a.xlsx"),
            Err(TabularError::WorkbookTooLarge)
        );
    }

    #[test]
    fn the_unique_count_scanner_reads_the_attribute_across_chunks() {
        let mut scanner = UniqueCountScanner::default();
        scanner.feed(b"<sst count=\"9\" uniqu");
        scanner.feed(b"eCount=\"12");
        scanner.feed(b"34\"><si>uniqueCountless</si>");
        assert_eq!(scanner.largest, 1234);
    }

    #[test]
    fn more_than_a_thousand_entries_is_too_large() {
        let names: Vec<String> = (0..1_001).map(|i| format!("x/{i}.xml")).collect();
        let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
        let bytes = zip_of(&entries);
        assert_eq!(
            read_default(&bytes, "a.xlsx"),
            Err(TabularError::WorkbookTooLarge)
        );
    }
}
