//! Test fixtures shared by the reader's unit tests: workbooks made with rust_xlsxwriter,
//! hand-built zips (zip bombs among them) and the default read. Test-only; never compiled
//! into the product.

use std::io::{Cursor, Write};

use rust_xlsxwriter::{Workbook, Worksheet};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::read::MIB;
use super::{read, Limits, Sheet, TabularError};

pub(super) fn s(v: &str) -> String {
    v.to_string()
}

pub(super) fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

pub(super) type Fill<'a> = &'a dyn Fn(&mut Worksheet);

/// An .xlsx made directly with rust_xlsxwriter, one sheet per closure call.
pub(super) fn workbook(sheets: &[(&str, Fill<'_>)]) -> Vec<u8> {
    let mut wb = Workbook::new();
    for (name, fill) in sheets {
        let ws = wb.add_worksheet();
        ws.set_name(*name).unwrap();
        fill(ws);
    }
    wb.save_to_buffer().unwrap()
}

pub(super) fn one_sheet(fill: Fill<'_>) -> Vec<u8> {
    workbook(&[("Sheet1", fill)])
}

pub(super) fn write_row(ws: &mut Worksheet, row: u32, values: &[&str]) {
    for (col, v) in values.iter().enumerate() {
        ws.write_string(row, col as u16, *v).unwrap();
    }
}

pub(super) fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for (name, data) in entries {
        zip.start_file(*name, options).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// A zip whose only entry inflates to `mib` MiB of zeros, written 1 MiB at a time so the
/// test never holds the inflated data.
pub(super) fn zeros_zip(name: &str, mib: usize) -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    zip.start_file(name, options).unwrap();
    let block = vec![0u8; MIB];
    for _ in 0..mib {
        zip.write_all(&block).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

pub(super) fn read_default(bytes: &[u8], name: &str) -> Result<Vec<Sheet>, TabularError> {
    read(bytes, name, &Limits::default())
}
