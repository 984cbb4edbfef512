//! A function's live package: downloading it (`GetFunction`'s `Code.Location`),
//! reading the zip, and the proof that it holds what a `source` folder holds.
//!
//! Lambda's `CodeSha256` is the SHA-256 of the bytes uploaded. A zip made by
//! another tool (the console, `zip`, a CI job) never has the bytes of the
//! tool's own deterministic zip ([`super::function::package`]), even with the
//! same files, so a function made by hand would always plan a `code` update.
//! When a function is being adopted, its package is downloaded, its files are
//! zipped again the tool's way (same files left out, same modes, same order),
//! and if that hash is the `source` folder's, the code counts as unchanged.
//! The first `up` records that proof on the function as the tag
//! [`CODE_TAG`] = `<CodeSha256> <the tool's hash>`, so later plans need no
//! download. Code uploaded out of band changes `CodeSha256`, so a stale tag
//! proves nothing and the change shows.

use std::collections::BTreeSet;
use std::path::Path;

use aws_sdk_lambda::operation::get_function::GetFunctionOutput;
use aws_sdk_lambda::types::PackageType;

use super::function::{left_out, sha256_base64, ZipWriter, UNZIPPED_LIMIT};
use super::{Error, Target};
use crate::aws::Aws;
use crate::stack::{Address, Tags};

/// The tag that records the proof: `<CodeSha256> <the tool's hash>`, two
/// base64 SHA-256 digests and a space (89 characters; a Lambda tag value
/// holds up to 256, and `+`, `/`, `=` and spaces are allowed in it).
pub(crate) const CODE_TAG: &str = "mobile-backend:code";

/// The largest package downloaded: Lambda takes at most 250 MB unzipped, so a
/// zip of it is smaller (a stored zip adds a few bytes per file).
const DOWNLOAD_LIMIT: u64 = UNZIPPED_LIMIT + 16 * 1024 * 1024;

// ------------------------------------------------------------- proof ----

/// The proof tag's value for a package with Lambda's hash `lambda_sha256`
/// whose files zip, the tool's way, to `tool_sha256`.
pub(crate) fn proof(lambda_sha256: &str, tool_sha256: &str) -> String {
    format!("{lambda_sha256} {tool_sha256}")
}

/// The tool's hash the proof tag `tag` records for the package whose
/// `CodeSha256` is `lambda_sha256`; `None` when the tag is about another
/// package (stale: the code was uploaded since) or is not a proof.
pub(crate) fn proved<'t>(tag: &'t str, lambda_sha256: &str) -> Option<&'t str> {
    let (live, tool) = tag.split_once(' ')?;
    let digest = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='))
    };
    (live == lambda_sha256 && digest(live) && digest(tool)).then_some(tool)
}

/// Takes the proof tag out of a function's tags: it is the tool's record,
/// never a tag the stack sets, so a plan never shows it.
pub(crate) fn take_proof(tags: &mut Tags) -> Option<String> {
    tags.remove(CODE_TAG)
}

/// What `up` does to the proof tag: `(Some(value), _)` to set it, `(_, true)`
/// to remove it. A package uploaded now (`uploading`) is the tool's own, so a
/// proof is stale; one kept whose hash is not the tool's needs the proof
/// unless the function carries it already.
pub(crate) fn proof_change(
    uploading: bool,
    want_code: &str,
    lambda_sha256: &str,
    tag: Option<&str>,
) -> (Option<String>, bool) {
    if uploading {
        return (None, tag.is_some());
    }
    if lambda_sha256 == want_code {
        return (None, false);
    }
    let wanted = proof(lambda_sha256, want_code);
    if tag == Some(wanted.as_str()) {
        (None, false)
    } else {
        (Some(wanted), false)
    }
}

// -------------------------------------------------------------- read ----

/// The live `code` of a function read at `target`: the tool's hash when the
/// proof tag proves it, or when the function is being adopted (`adopting`:
/// untagged, named by `adopt`) and its package, zipped again the tool's way,
/// is the `source` folder's; otherwise Lambda's `CodeSha256`. Only the
/// second costs a download.
pub(crate) async fn live_code(
    aws: &Aws,
    target: &Target<'_>,
    out: &GetFunctionOutput,
    lambda_sha256: &str,
    tag: Option<&str>,
    adopting: bool,
) -> Result<String, Error> {
    if let Some(tool) = tag.and_then(|t| proved(t, lambda_sha256)) {
        return Ok(tool.to_string());
    }
    if !adopting {
        return Ok(lambda_sha256.to_string());
    }
    let Some(wanted) = desired_code(target).filter(|w| w != lambda_sha256) else {
        return Ok(lambda_sha256.to_string());
    };
    let zip = download(aws, target.address, target.name, out).await?;
    // A package that cannot be read or unpacked safely proves nothing: the
    // plan shows the code changing, and `up` deploys `source`.
    let same = read_zip(&zip)
        .and_then(|entries| tool_sha256(&shipped(entries)))
        .is_ok_and(|repackaged| repackaged == wanted);
    Ok(if same {
        wanted
    } else {
        lambda_sha256.to_string()
    })
}

/// The hash of the `source` folder the stack declares for `target`, when it
/// can be made (the desired state reports the errors).
fn desired_code(target: &Target<'_>) -> Option<String> {
    let Some(super::Spec::Function(spec)) = target.spec else {
        return None;
    };
    if spec.source.contains("${") {
        return None;
    }
    let dir = target.dir?.join(&spec.source);
    super::function::package_cached(&dir, target.name).ok()
}

/// The package of the function `name` as `GetFunction` answered: downloaded
/// from `Code.Location`. A container image has no package to download.
pub(crate) async fn download(
    aws: &Aws,
    address: &Address,
    name: &str,
    out: &GetFunctionOutput,
) -> Result<Vec<u8>, Error> {
    let url = location(out)
        .map_err(|why| Error::Refused(format!("{address}: function `{name}`: {why}")))?;
    aws.download_package(
        &url,
        DOWNLOAD_LIMIT,
        &format!("the package of function `{name}` ({address})"),
    )
    .await
    .map_err(|e| Error::Aws {
        operation: "lambda:GetFunction",
        code: None,
        detail: format!("{e}. Check the network (and HTTPS_PROXY), then run the command again"),
    })
}

/// Where `GetFunction` says the package is: `Code.Location`, a presigned URL
/// of the S3 object Lambda keeps it in.
pub(crate) fn location(out: &GetFunctionOutput) -> Result<String, String> {
    let image = out
        .configuration()
        .and_then(|c| c.package_type())
        .is_some_and(|t| *t == PackageType::Image);
    let code = out.code();
    if image || code.and_then(|c| c.image_uri()).is_some() {
        return Err("it is a container-image function (PackageType Image): its code is an image in Amazon ECR, not a zip, and this tool deploys zip packages only".into());
    }
    let Some(code) = code else {
        return Err(
            "lambda:GetFunction answered no `Code`: check that you may call it on this function"
                .into(),
        );
    };
    match code.repository_type() {
        Some("S3") | None => {}
        Some(other) => {
            return Err(format!(
                "its code is kept in `{other}`, not in S3; only zip packages can be downloaded"
            ))
        }
    }
    code.location()
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .ok_or_else(|| {
            "lambda:GetFunction answered no `Code.Location` to download the package from".into()
        })
}

// --------------------------------------------------------------- zip ----

/// One file of a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// Its path, `/`-separated, relative, normalised (no `.` or empty parts).
    pub name: String,
    pub data: Vec<u8>,
    /// The zip records a Unix mode with the owner's execute bit.
    pub executable: bool,
}

/// The files that ship: those the tool's packaging leaves out of a folder
/// (`.git`, editor files, ...) at any depth are dropped.
pub(crate) fn shipped(entries: Vec<Entry>) -> Vec<Entry> {
    entries
        .into_iter()
        .filter(|e| !e.name.split('/').any(left_out))
        .collect()
}

/// The SHA-256 (base64) of the tool's zip of `entries`: sorted by path, its
/// fixed timestamps, modes and compression, as
/// [`super::function::package`] zips a folder holding them.
pub(crate) fn tool_sha256(entries: &[Entry]) -> Result<String, String> {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut zip = ZipWriter::default();
    for e in sorted {
        zip.add(&e.name, &e.data, e.executable)
            .map_err(|why| format!("cannot zip `{}`: {why}", e.name))?;
    }
    Ok(sha256_base64(&zip.finish()))
}

fn u16_at(b: &[u8], at: usize) -> Result<u16, String> {
    b.get(at..at + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .ok_or_else(|| "the zip ends early".to_string())
}

fn u32_at(b: &[u8], at: usize) -> Result<u32, String> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or_else(|| "the zip ends early".to_string())
}

fn u64_at(b: &[u8], at: usize) -> Result<u64, String> {
    Ok(u64::from(u32_at(b, at)?) | (u64::from(u32_at(b, at + 4)?) << 32))
}

const END: u32 = 0x0605_4b50;
const END64: u32 = 0x0606_4b50;
const END64_LOCATOR: u32 = 0x0706_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const LOCAL: u32 = 0x0403_4b50;

/// Where the central directory is and how many entries it holds.
fn central_directory(zip: &[u8]) -> Result<(usize, u64), String> {
    if zip.len() < 22 {
        return Err("it is not a zip archive (too short)".into());
    }
    // The end record is the last 22 bytes plus a comment of up to 64 KB.
    let lowest = zip.len().saturating_sub(22 + 0xFFFF);
    let end = (lowest..=zip.len() - 22)
        .rev()
        .find(|&i| u32_at(zip, i) == Ok(END))
        .ok_or("it is not a zip archive (no end of central directory)")?;
    if u16_at(zip, end + 4)? != 0 || u16_at(zip, end + 6)? != 0 {
        return Err("it is a zip split over several files".into());
    }
    let (mut count, mut offset) = (
        u64::from(u16_at(zip, end + 10)?),
        u64::from(u32_at(zip, end + 16)?),
    );
    if count == 0xFFFF || offset == 0xFFFF_FFFF {
        // ZIP64: the locator sits right before the end record.
        let locator = end
            .checked_sub(20)
            .ok_or("a ZIP64 archive without its locator")?;
        if u32_at(zip, locator)? != END64_LOCATOR {
            return Err("a ZIP64 archive without its locator".into());
        }
        let at = usize::try_from(u64_at(zip, locator + 8)?).map_err(|e| e.to_string())?;
        if u32_at(zip, at)? != END64 {
            return Err("a ZIP64 archive whose end record is missing".into());
        }
        count = u64_at(zip, at + 32)?;
        offset = u64_at(zip, at + 48)?;
    }
    Ok((usize::try_from(offset).map_err(|e| e.to_string())?, count))
}

/// Every file of a zip, checked: names must stay inside the folder (no
/// absolute paths, drive letters, `..` or `\`), no links or devices, no
/// encryption; stored and deflated entries, with or without data
/// descriptors, and ZIP64; the CRC of each file checked, and at most
/// Lambda's 250 MB unzipped. Directories are not entries.
pub(crate) fn read_zip(zip: &[u8]) -> Result<Vec<Entry>, String> {
    let (mut at, count) = central_directory(zip)?;
    let mut entries = Vec::new();
    let mut names = BTreeSet::new();
    let mut total: u64 = 0;
    for _ in 0..count {
        if u32_at(zip, at)? != CENTRAL {
            return Err("its central directory is damaged".into());
        }
        let header = Header::parse(zip, at)?;
        at += 46 + header.name_len + header.extra_len + header.comment_len;
        let name = safe_name(&header.raw_name)?;
        if header.flags & 1 != 0 {
            return Err(format!("`{name}` is encrypted"));
        }
        let kind = header.mode >> 12;
        match kind {
            0o12 => return Err(format!("`{name}` is a symbolic link; adopt unpacks files only, never links (which could point outside the folder)")),
            0 | 0o10 | 0o04 => {}
            _ => return Err(format!("`{name}` is not a file (Unix mode {:o})", header.mode)),
        }
        if header.raw_name.ends_with('/') || kind == 0o04 || header.dos_directory {
            continue;
        }
        total += header.size;
        if total > UNZIPPED_LIMIT {
            return Err(format!(
                "it holds more than {} MB unzipped, more than Lambda allows",
                UNZIPPED_LIMIT / (1024 * 1024)
            ));
        }
        let data = header.data(zip, &name)?;
        if !names.insert(name.clone()) {
            return Err(format!("it holds `{name}` twice"));
        }
        entries.push(Entry {
            name,
            data,
            executable: header.mode & 0o100 != 0,
        });
    }
    Ok(entries)
}

/// One central directory header.
struct Header {
    raw_name: String,
    name_len: usize,
    extra_len: usize,
    comment_len: usize,
    flags: u16,
    method: u16,
    crc: u32,
    compressed: u64,
    size: u64,
    offset: u64,
    /// The Unix mode, when the zip was made on Unix (0 otherwise).
    mode: u32,
    /// The MS-DOS directory attribute.
    dos_directory: bool,
}

impl Header {
    fn parse(zip: &[u8], at: usize) -> Result<Header, String> {
        let made_on_unix = u16_at(zip, at + 4)? >> 8 == 3;
        let (name_len, extra_len, comment_len) = (
            usize::from(u16_at(zip, at + 28)?),
            usize::from(u16_at(zip, at + 30)?),
            usize::from(u16_at(zip, at + 32)?),
        );
        let raw = zip
            .get(at + 46..at + 46 + name_len)
            .ok_or("its central directory ends early")?;
        let raw_name = String::from_utf8(raw.to_vec()).map_err(|_| {
            format!(
                "a file name is not UTF-8 (`{}`)",
                String::from_utf8_lossy(raw)
            )
        })?;
        let external = u32_at(zip, at + 38)?;
        let mut h = Header {
            raw_name,
            name_len,
            extra_len,
            comment_len,
            flags: u16_at(zip, at + 8)?,
            method: u16_at(zip, at + 10)?,
            crc: u32_at(zip, at + 16)?,
            compressed: u64::from(u32_at(zip, at + 20)?),
            size: u64::from(u32_at(zip, at + 24)?),
            offset: u64::from(u32_at(zip, at + 42)?),
            mode: if made_on_unix { external >> 16 } else { 0 },
            dos_directory: external & 0x10 != 0,
        };
        let extra = zip
            .get(at + 46 + name_len..at + 46 + name_len + extra_len)
            .ok_or("its central directory ends early")?;
        h.zip64(extra)?;
        Ok(h)
    }

    /// Reads the ZIP64 extra field: the 64-bit values of the fields that say
    /// 0xFFFFFFFF, in their order.
    fn zip64(&mut self, mut extra: &[u8]) -> Result<(), String> {
        while extra.len() >= 4 {
            let (id, len) = (u16_at(extra, 0)?, usize::from(u16_at(extra, 2)?));
            let body = extra.get(4..4 + len).ok_or("an extra field ends early")?;
            if id == 1 {
                let mut i = 0;
                for field in [&mut self.size, &mut self.compressed, &mut self.offset] {
                    if *field == 0xFFFF_FFFF {
                        *field = u64_at(body, i)?;
                        i += 8;
                    }
                }
            }
            extra = &extra[4 + len..];
        }
        Ok(())
    }

    /// The file's content: after its local header, inflated if deflated,
    /// its size and CRC checked.
    fn data(&self, zip: &[u8], name: &str) -> Result<Vec<u8>, String> {
        let local = usize::try_from(self.offset).map_err(|e| e.to_string())?;
        if u32_at(zip, local)? != LOCAL {
            return Err(format!("the local header of `{name}` is missing"));
        }
        // The local name and extra field may differ from the central ones.
        let start = local
            + 30
            + usize::from(u16_at(zip, local + 26)?)
            + usize::from(u16_at(zip, local + 28)?);
        let compressed = usize::try_from(self.compressed).map_err(|e| e.to_string())?;
        let raw = zip
            .get(start..start.saturating_add(compressed))
            .ok_or_else(|| format!("`{name}` ends early"))?;
        let data = match self.method {
            0 => raw.to_vec(),
            8 => {
                use std::io::Read;
                let mut out = Vec::new();
                flate2::read::DeflateDecoder::new(raw)
                    .take(self.size + 1)
                    .read_to_end(&mut out)
                    .map_err(|e| format!("`{name}` cannot be inflated: {e}"))?;
                out
            }
            other => {
                return Err(format!(
                    "`{name}` is compressed with method {other}; only stored (0) and deflated (8) files can be read"
                ))
            }
        };
        if data.len() as u64 != self.size {
            return Err(format!(
                "`{name}` holds {} bytes, but the zip says {}",
                data.len(),
                self.size
            ));
        }
        let mut crc = flate2::Crc::new();
        crc.update(&data);
        if crc.sum() != self.crc {
            return Err(format!("`{name}` is damaged (its CRC-32 does not match)"));
        }
        Ok(data)
    }
}

/// A zip entry's name as a relative path inside the function's folder, or
/// why it is refused: absolute, a drive letter, `..`, `\` or a NUL.
fn safe_name(raw: &str) -> Result<String, String> {
    let refuse = |why: &str| {
        Err(format!(
            "`{raw}` {why}; adopt unpacks only paths inside the function's folder"
        ))
    };
    if raw.starts_with('/') {
        return refuse("is an absolute path");
    }
    let bytes = raw.as_bytes();
    if bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic() {
        return refuse("starts with a drive letter");
    }
    if raw.contains('\\') {
        return refuse("holds `\\` (a Windows path separator)");
    }
    if raw.contains('\0') {
        return refuse("holds a NUL character");
    }
    let parts: Vec<&str> = raw
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.contains(&"..") {
        return refuse("climbs out with `..`");
    }
    if parts.is_empty() {
        return refuse("names no file");
    }
    Ok(parts.join("/"))
}

/// Whether `path` already holds exactly `bytes` (and the executable bit).
pub(crate) fn identical(path: &Path, bytes: &[u8], executable: bool) -> bool {
    let same_bytes = std::fs::read(path).is_ok_and(|have| have == bytes);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        same_bytes
            && std::fs::metadata(path)
                .is_ok_and(|m| (m.permissions().mode() & 0o100 != 0) == executable)
    }
    #[cfg(not(unix))]
    {
        let _ = executable;
        same_bytes
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// One entry of a zip written the way other tools write them.
    pub(crate) struct Foreign<'a> {
        pub name: &'a str,
        pub data: &'a [u8],
        pub deflate: bool,
        /// Sizes and CRC after the data (general purpose flag 3), zero in the local header.
        pub descriptor: bool,
        /// A Unix mode (made on Unix), or none (made on MS-DOS).
        pub mode: Option<u32>,
    }

    impl<'a> Foreign<'a> {
        pub(crate) fn file(name: &'a str, data: &'a [u8]) -> Foreign<'a> {
            Foreign {
                name,
                data,
                deflate: true,
                descriptor: false,
                mode: Some(0o100644),
            }
        }
    }

    /// A zip as another tool writes it: entries in the order given, a
    /// timestamp of its own, maximum compression, a comment.
    pub(crate) fn foreign_zip(entries: &[Foreign<'_>]) -> Vec<u8> {
        use std::io::Write;
        let (mut out, mut central) = (Vec::new(), Vec::new());
        for (i, e) in entries.iter().enumerate() {
            let data = if e.deflate {
                let mut z =
                    flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
                z.write_all(e.data).unwrap();
                z.finish().unwrap()
            } else {
                e.data.to_vec()
            };
            let mut crc = flate2::Crc::new();
            crc.update(e.data);
            let crc = crc.sum();
            let flags: u16 = if e.descriptor { 1 << 3 } else { 0 };
            let method: u16 = if e.deflate { 8 } else { 0 };
            let (time, date) = (0x6000 + i as u16, 0x5a21u16);
            let offset = out.len() as u32;
            let (local_crc, local_c, local_u) = if e.descriptor {
                (0, 0, 0)
            } else {
                (crc, data.len() as u32, e.data.len() as u32)
            };
            out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
            for v in [20u16, flags, method, time, date] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            for v in [local_crc, local_c, local_u] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            // A local extra field the central directory does not have.
            let extra = [0x55u8, 0x54, 5, 0, 1, 0, 0, 0, 0];
            for v in [e.name.len() as u16, extra.len() as u16] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            out.extend_from_slice(e.name.as_bytes());
            out.extend_from_slice(&extra);
            out.extend_from_slice(&data);
            if e.descriptor {
                for v in [0x0807_4b50u32, crc, data.len() as u32, e.data.len() as u32] {
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
            let made_by: u16 = if e.mode.is_some() { (3 << 8) | 30 } else { 20 };
            central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
            for v in [made_by, 20, flags, method, time, date] {
                central.extend_from_slice(&v.to_le_bytes());
            }
            for v in [crc, data.len() as u32, e.data.len() as u32] {
                central.extend_from_slice(&v.to_le_bytes());
            }
            for v in [e.name.len() as u16, 0, 0, 0, 0] {
                central.extend_from_slice(&v.to_le_bytes());
            }
            let external = e.mode.map_or(0, |m| m << 16);
            for v in [external, offset] {
                central.extend_from_slice(&v.to_le_bytes());
            }
            central.extend_from_slice(e.name.as_bytes());
        }
        let (at, size) = (out.len() as u32, central.len() as u32);
        out.extend_from_slice(&central);
        out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        for v in [0u16, 0, entries.len() as u16, entries.len() as u16] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in [size, at] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        let comment = b"made by hand";
        out.extend_from_slice(&(comment.len() as u16).to_le_bytes());
        out.extend_from_slice(comment);
        out
    }

    const INDEX: &[u8] = b"exports.handler = async (event) => { event.response.autoConfirmUser = true; return event; };\n";

    #[test]
    fn stored_deflated_and_described_entries_are_read_and_directories_skipped() {
        let zip = foreign_zip(&[
            Foreign {
                descriptor: true,
                ..Foreign::file("lib/util.js", b"module.exports = 1;\n")
            },
            Foreign {
                mode: Some(0o040755),
                ..Foreign::file("lib/", b"")
            },
            Foreign {
                deflate: false,
                mode: None,
                ..Foreign::file("./index.js", INDEX)
            },
            Foreign {
                mode: Some(0o100750),
                ..Foreign::file("bin/run", b"#!/bin/sh\n")
            },
        ]);
        let entries = read_zip(&zip).unwrap();
        let got: Vec<(&str, &[u8], bool)> = entries
            .iter()
            .map(|e| (e.name.as_str(), e.data.as_slice(), e.executable))
            .collect();
        assert_eq!(
            got,
            [
                ("lib/util.js", &b"module.exports = 1;\n"[..], false),
                ("index.js", INDEX, false),
                ("bin/run", &b"#!/bin/sh\n"[..], true),
            ]
        );
    }

    #[test]
    fn unsafe_entries_are_refused_by_name() {
        for (name, mode, why) in [
            ("../evil.js", Some(0o100644), "climbs out with `..`"),
            ("lib/../../evil.js", Some(0o100644), "climbs out with `..`"),
            ("/etc/passwd", Some(0o100644), "is an absolute path"),
            ("C:/x.js", None, "drive letter"),
            ("lib\\x.js", None, "Windows path separator"),
            ("link.js", Some(0o120777), "is a symbolic link"),
            ("fifo", Some(0o010644), "is not a file"),
        ] {
            let zip = foreign_zip(&[
                Foreign::file("index.js", INDEX),
                Foreign {
                    mode,
                    ..Foreign::file(name, b"x")
                },
            ]);
            let e = read_zip(&zip).unwrap_err();
            assert!(e.contains(name) && e.contains(why), "{name}: {e}");
        }
    }

    #[test]
    fn damaged_encrypted_and_doubled_entries_are_errors() {
        let mut zip = foreign_zip(&[Foreign::file("index.js", INDEX)]);
        let e = read_zip(b"not a zip at all, really not").unwrap_err();
        assert!(e.contains("not a zip"), "{e}");
        // Flip a byte of the compressed data: the CRC (or inflate) says so.
        zip[50] ^= 0xff;
        assert!(read_zip(&zip).is_err());
        let twice = foreign_zip(&[
            Foreign::file("index.js", INDEX),
            Foreign::file("./index.js", INDEX),
        ]);
        assert!(read_zip(&twice).unwrap_err().contains("twice"));
        let mut encrypted = foreign_zip(&[Foreign::file("index.js", INDEX)]);
        let central = encrypted.len() - 22 - 12 - 46 - "index.js".len();
        encrypted[central + 8] |= 1;
        assert!(read_zip(&encrypted).unwrap_err().contains("encrypted"));
    }

    #[test]
    fn a_foreign_zip_repackaged_hashes_as_the_tools_zip_of_the_same_folder() {
        let files: &[(&str, &[u8])] = &[
            ("index.js", INDEX),
            ("lib/util.js", b"module.exports = 1;\n"),
            ("package.json", b"{\"name\": \"auto-confirm\"}\n"),
        ];
        let dir = tempfile::tempdir().unwrap();
        for (path, data) in files {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, data).unwrap();
        }
        let folder = super::super::function::package(dir.path(), "f").unwrap();
        // Reversed order, other timestamps, stored and described entries, a
        // directory entry and files the tool never ships.
        let zip = foreign_zip(&[
            Foreign::file("package.json", files[2].1),
            Foreign {
                mode: Some(0o040755),
                ..Foreign::file("lib/", b"")
            },
            Foreign {
                descriptor: true,
                ..Foreign::file("lib/util.js", files[1].1)
            },
            Foreign::file(".DS_Store", b"junk"),
            Foreign::file(".git/HEAD", b"ref: x"),
            Foreign {
                deflate: false,
                mode: Some(0o100664),
                ..Foreign::file("index.js", INDEX)
            },
        ]);
        assert_ne!(sha256_base64(&zip), folder.sha256);
        let entries = shipped(read_zip(&zip).unwrap());
        assert_eq!(entries.len(), 3);
        assert_eq!(tool_sha256(&entries).unwrap(), folder.sha256);
        // One byte more is another hash.
        let mut changed = entries.clone();
        changed[0].data.push(b'\n');
        assert_ne!(tool_sha256(&changed).unwrap(), folder.sha256);
    }

    const A: &str = "n9ATTq2PGRoQ/ZrLA+c8B0+LsXK4mOTY5jyN/ZG1pr8=";
    const B: &str = "2l7SmR1tVtXcQxFvQBNdT3VOWbW+VXv0+5q4Wf1Mj0I=";

    #[test]
    fn a_proof_holds_for_its_own_package_only() {
        let tag = proof(A, B);
        assert_eq!(tag.len(), 89);
        assert!(tag.len() <= 256);
        assert!(tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " +-=._:/@".contains(c)));
        assert_eq!(proved(&tag, A), Some(B));
        // Code uploaded since: another CodeSha256, the tag proves nothing.
        assert_eq!(proved(&tag, B), None);
        for bad in [
            "",
            A,
            "x",
            &format!("{A} "),
            &format!("{A} {B} {B}"),
            &format!("{A}  {B}"),
        ] {
            assert_eq!(proved(bad, A), None, "{bad:?}");
        }
    }

    #[test]
    fn the_proof_is_set_when_kept_code_is_proved_and_removed_when_code_is_uploaded() {
        // Adopted, proved: set with the ownership tags.
        assert_eq!(proof_change(false, B, A, None), (Some(proof(A, B)), false));
        // Already recorded: nothing to do.
        assert_eq!(proof_change(false, B, A, Some(&proof(A, B))), (None, false));
        // The tool's own package: no proof needed.
        assert_eq!(proof_change(false, A, A, None), (None, false));
        // A new package uploaded: the proof is stale.
        assert_eq!(proof_change(true, B, A, Some(&proof(A, B))), (None, true));
        assert_eq!(proof_change(true, B, A, None), (None, false));
    }

    #[test]
    fn the_proof_tag_is_never_a_tag_of_the_stack() {
        let mut tags: Tags = [
            ("mobile-backend:stack", "demo"),
            ("mobile-backend:id", "function.api"),
            (CODE_TAG, "a b"),
            ("team", "mobile"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(take_proof(&mut tags).as_deref(), Some("a b"));
        assert!(!tags.contains_key(CODE_TAG));
        assert_eq!(tags.len(), 3);
    }

    // ---------------------------------------- AWS-shaped answers, mocked ----

    use crate::aws::download::Answering;
    use crate::aws::mock::mock_client;
    use crate::resource::aws_defaults::Minimal;
    use crate::resource::registry::ResourceKind;
    use crate::resource::{Desired, Ownership, ResourceType};
    use aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput;
    use aws_sdk_lambda::operation::list_event_source_mappings::ListEventSourceMappingsOutput;
    use aws_sdk_lambda::operation::tag_resource::TagResourceOutput;
    use aws_sdk_lambda::operation::untag_resource::UntagResourceOutput;
    use aws_sdk_lambda::operation::update_function_code::UpdateFunctionCodeOutput;
    use aws_sdk_lambda::types::{
        FunctionCodeLocation, FunctionConfiguration, LastUpdateStatus, Runtime, State,
    };
    use aws_sdk_lambda::Client;
    use aws_smithy_mocks::{mock, RuleMode};

    const ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:demo-api";
    /// A presigned URL as Lambda answers it (a snapshot in Lambda's own bucket).
    const LOCATION: &str = "https://awslambda-us-east-1-tasks.s3.us-east-1.amazonaws.com/snapshots/123456789012/demo-api-5a7e0c2b-9b8f-4d8e-b0a1-4c1e3a5f6d7e?versionId=3Lg7Q0hPj2cFz9xW&X-Amz-Security-Token=IQoJb3JpZ2luX2Vj&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20261206T040000Z&X-Amz-SignedHeaders=host&X-Amz-Expires=600&X-Amz-Credential=ASIA%2F20261206%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=0f1e2d3c";

    /// `[function.api]` adopting `demo-api`, its `source` holding `index.js`.
    fn adopting() -> Minimal {
        Minimal::load_with_files(
            "[function.api]\nadopt = \"demo-api\"\nsource = \"fn\"\nruntime = \"nodejs20.x\"\nhandler = \"index.handler\"\nrole = \"arn:aws:iam::123456789012:role/demo-fn\"\n",
            "function.api",
            &[],
            &[("fn/index.js", std::str::from_utf8(INDEX).unwrap())],
        )
    }

    /// The hand-made package: `index.js`, zipped by another tool.
    fn hand_made() -> Vec<u8> {
        foreign_zip(&[Foreign {
            descriptor: true,
            ..Foreign::file("index.js", INDEX)
        }])
    }

    /// `GetFunction` of a zip function as AWS answers it: the configuration
    /// with `CodeSha256` = `sha256`, `Code` with `RepositoryType` S3 and a
    /// presigned `Location`, and `tags`.
    fn get_function(sha256: &str, tags: &[(&str, &str)]) -> aws_smithy_mocks::Rule {
        let sha256 = sha256.to_string();
        let tags: std::collections::HashMap<String, String> = tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        mock!(Client::get_function).then_output(move || {
            GetFunctionOutput::builder()
                .configuration(
                    FunctionConfiguration::builder()
                        .function_name("demo-api")
                        .function_arn(ARN)
                        .runtime(Runtime::Nodejs20x)
                        .role("arn:aws:iam::123456789012:role/demo-fn")
                        .handler("index.handler")
                        .code_size(212)
                        .timeout(3)
                        .memory_size(128)
                        .code_sha256(&sha256)
                        .state(State::Active)
                        .last_update_status(LastUpdateStatus::Successful)
                        .package_type(PackageType::Zip)
                        .build(),
                )
                .code(
                    FunctionCodeLocation::builder()
                        .repository_type("S3")
                        .location(LOCATION)
                        .build(),
                )
                .set_tags(Some(tags.clone()))
                .build()
        })
    }

    fn no_mappings() -> aws_smithy_mocks::Rule {
        mock!(Client::list_event_source_mappings)
            .then_output(|| ListEventSourceMappingsOutput::builder().build())
    }

    /// Answers the presigned URL with `zip`, and nothing else.
    fn bucket(zip: Vec<u8>) -> Answering {
        Answering::new(move |uri| {
            if uri == LOCATION {
                (200, zip.clone())
            } else {
                (404, b"NoSuchKey".to_vec())
            }
        })
    }

    fn desired_of(m: &Minimal) -> Desired {
        Desired {
            address: m.address.clone(),
            physical_name: m.name.clone(),
            attributes: m.desired.clone(),
            depends_on: vec![],
        }
    }

    #[tokio::test]
    async fn an_adopted_package_holding_source_plans_tags_only_and_up_records_the_proof() {
        let m = adopting();
        let want = m.desired["code"].as_str().unwrap().to_string();
        let zip = hand_made();
        let lambda_sha256 = sha256_base64(&zip);
        assert_ne!(lambda_sha256, want);
        let s3 = bucket(zip);
        let aws = Aws {
            lambda: mock_client!(
                aws_sdk_lambda,
                RuleMode::MatchAny,
                [&get_function(&lambda_sha256, &[]), &no_mappings()]
            ),
            downloads: s3.shared(),
            ..Aws::for_tests()
        };
        let target = Target {
            adopt: Some(&m.name),
            dir: m.stack.file.parent(),
            plan: None,
            ..m.target(None)
        };
        let live = crate::resource::read(&aws, &target)
            .await
            .unwrap()
            .expect("found");
        assert!(matches!(live.ownership, Ownership::Adopting { .. }));
        assert_eq!(live.attributes["code"], want.as_str());
        assert_eq!(
            live.attributes["lambda_code"]["sha256"],
            lambda_sha256.as_str()
        );
        assert_eq!(s3.requests.lock().unwrap().as_slice(), [LOCATION]);
        let changes = crate::plan::diff(ResourceType::Function, &live.attributes, &m.desired);
        let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(
            paths,
            ["tags.mobile-backend:id", "tags.mobile-backend:stack"]
        );

        // `up`: one TagResource, the ownership tags and the proof; no code.
        let proof_value = proof(&lambda_sha256, &want);
        let tag = mock!(Client::tag_resource)
            .match_requests(move |r| {
                r.resource() == Some(ARN)
                    && r.tags().is_some_and(|t| {
                        t.len() == 3
                            && t.get(CODE_TAG) == Some(&proof_value)
                            && t.get("mobile-backend:id").map(String::as_str)
                                == Some("function.api")
                    })
            })
            .then_output(|| TagResourceOutput::builder().build());
        let aws = Aws {
            lambda: mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&tag]),
            ..Aws::for_tests()
        };
        crate::resource::function::update(&aws, &desired_of(&m), &live)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(tag.num_calls(), 1);

        // The next read: the tag proves it, no download.
        let recorded = proof(&lambda_sha256, &want);
        let owned = [
            ("mobile-backend:stack", "demo"),
            ("mobile-backend:id", "function.api"),
            (CODE_TAG, recorded.as_str()),
        ];
        let s3 = bucket(hand_made());
        let aws = Aws {
            lambda: mock_client!(
                aws_sdk_lambda,
                RuleMode::MatchAny,
                [&get_function(&lambda_sha256, &owned), &no_mappings()]
            ),
            downloads: s3.shared(),
            ..Aws::for_tests()
        };
        let live = crate::resource::read(&aws, &target).await.unwrap().unwrap();
        assert_eq!(live.ownership, Ownership::Ours);
        assert_eq!(live.attributes["code"], want.as_str());
        assert!(live.attributes["tags"].get(CODE_TAG).is_none());
        assert!(crate::plan::diff(ResourceType::Function, &live.attributes, &m.desired).is_empty());
        assert!(s3.requests.lock().unwrap().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn code_uploaded_out_of_band_makes_the_proof_stale_and_up_removes_it() {
        let m = adopting();
        let want = m.desired["code"].as_str().unwrap().to_string();
        let stale = proof(A, &want);
        let owned = [
            ("mobile-backend:stack", "demo"),
            ("mobile-backend:id", "function.api"),
            (CODE_TAG, stale.as_str()),
        ];
        let aws = Aws {
            lambda: mock_client!(
                aws_sdk_lambda,
                RuleMode::MatchAny,
                [&get_function(B, &owned), &no_mappings()]
            ),
            ..Aws::for_tests()
        };
        let target = Target {
            adopt: Some(&m.name),
            dir: m.stack.file.parent(),
            plan: None,
            ..m.target(None)
        };
        // Owned: never downloaded (the unit test connector would panic).
        let live = crate::resource::read(&aws, &target).await.unwrap().unwrap();
        assert_eq!(live.attributes["code"], B);
        let changes = crate::plan::diff(ResourceType::Function, &live.attributes, &m.desired);
        let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, ["code"]);

        let upload = mock!(Client::update_function_code)
            .then_output(|| UpdateFunctionCodeOutput::builder().build());
        let settled = mock!(Client::get_function_configuration).then_output(|| {
            GetFunctionConfigurationOutput::builder()
                .state(State::Active)
                .last_update_status(LastUpdateStatus::Successful)
                .build()
        });
        let untag = mock!(Client::untag_resource)
            .match_requests(|r| r.tag_keys() == [CODE_TAG.to_string()])
            .then_output(|| UntagResourceOutput::builder().build());
        let aws = Aws {
            lambda: mock_client!(
                aws_sdk_lambda,
                RuleMode::MatchAny,
                [&upload, &settled, &untag]
            ),
            ..Aws::for_tests()
        };
        crate::resource::function::update(&aws, &desired_of(&m), &live)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((upload.num_calls(), untag.num_calls()), (1, 1));
    }

    #[tokio::test]
    async fn an_adopted_package_holding_other_files_shows_the_code_change() {
        let m = adopting();
        let zip = foreign_zip(&[Foreign::file("index.js", b"exports.handler = 1;\n")]);
        let lambda_sha256 = sha256_base64(&zip);
        let s3 = bucket(zip);
        let aws = Aws {
            lambda: mock_client!(
                aws_sdk_lambda,
                RuleMode::MatchAny,
                [&get_function(&lambda_sha256, &[]), &no_mappings()]
            ),
            downloads: s3.shared(),
            ..Aws::for_tests()
        };
        let target = Target {
            adopt: Some(&m.name),
            dir: m.stack.file.parent(),
            plan: None,
            ..m.target(None)
        };
        let live = crate::resource::read(&aws, &target).await.unwrap().unwrap();
        // Lambda's own hash, as the plan's "before".
        assert_eq!(live.attributes["code"], lambda_sha256.as_str());
        assert_eq!(s3.requests.lock().unwrap().len(), 1);
    }

    #[test]
    fn the_location_is_an_s3_link_and_an_image_has_none() {
        let zip = GetFunctionOutput::builder()
            .configuration(
                FunctionConfiguration::builder()
                    .package_type(PackageType::Zip)
                    .build(),
            )
            .code(
                FunctionCodeLocation::builder()
                    .repository_type("S3")
                    .location(LOCATION)
                    .build(),
            )
            .build();
        assert_eq!(location(&zip).unwrap(), LOCATION);
        let image = GetFunctionOutput::builder()
            .configuration(
                FunctionConfiguration::builder()
                    .package_type(PackageType::Image)
                    .build(),
            )
            .code(
                FunctionCodeLocation::builder()
                    .repository_type("ECR")
                    .image_uri("123456789012.dkr.ecr.us-east-1.amazonaws.com/api:latest")
                    .resolved_image_uri(
                        "123456789012.dkr.ecr.us-east-1.amazonaws.com/api@sha256:0a1b",
                    )
                    .build(),
            )
            .build();
        let e = location(&image).unwrap_err();
        assert!(e.contains("container-image") && e.contains("zip"), "{e}");
        let nothing = GetFunctionOutput::builder().build();
        assert!(location(&nothing).unwrap_err().contains("no `Code`"));
    }

    #[tokio::test]
    async fn adopt_downloads_the_package_and_an_image_function_is_a_clear_error() {
        let zip = foreign_zip(&[
            Foreign::file("index.js", INDEX),
            Foreign {
                mode: Some(0o100755),
                ..Foreign::file("bin/run", b"#!/bin/sh\n")
            },
            Foreign::file("index.js~", b"backup"),
        ]);
        let s3 = bucket(zip);
        let aws = Aws {
            lambda: mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&get_function(A, &[])]),
            downloads: s3.shared(),
            ..Aws::for_tests()
        };
        let mut found =
            crate::adopt::tests::found("function.api", "demo-api", serde_json::Value::Null, &[]);
        let notes = super::super::function::FunctionKind::adopt_parts(&aws, "demo", &mut found)
            .await
            .unwrap();
        let files: Vec<(&str, bool)> = found
            .files
            .iter()
            .map(|f| {
                let crate::adopt::Contents::Code { executable, .. } = &f.contents else {
                    panic!("a code file")
                };
                (f.relative.as_str(), *executable)
            })
            .collect();
        assert_eq!(files, [("index.js", false), ("bin/run", true)]);
        assert_eq!(found.files[0].bytes(), INDEX);
        assert!(notes[0].contains("function.api: 1 file(s)"), "{notes:?}");

        let image = mock!(Client::get_function).then_output(|| {
            GetFunctionOutput::builder()
                .configuration(
                    FunctionConfiguration::builder()
                        .function_name("demo-img")
                        .package_type(PackageType::Image)
                        .build(),
                )
                .code(
                    FunctionCodeLocation::builder()
                        .repository_type("ECR")
                        .image_uri("123456789012.dkr.ecr.us-east-1.amazonaws.com/api:latest")
                        .build(),
                )
                .build()
        });
        let aws = Aws {
            lambda: mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&image]),
            ..Aws::for_tests()
        };
        let mut found =
            crate::adopt::tests::found("function.img", "demo-img", serde_json::Value::Null, &[]);
        let e = super::super::function::FunctionKind::adopt_parts(&aws, "demo", &mut found)
            .await
            .unwrap_err();
        assert!(
            e.contains("function.img (`demo-img`)") && e.contains("container-image"),
            "{e}"
        );
    }

    #[test]
    fn the_written_stack_names_adopted_functions_by_key_and_places_their_code() {
        use crate::adopt::tests::found;
        use serde_json::json;
        let fn_arn = "arn:aws:lambda:us-east-1:123456789012:function:AppAutoConfirm";
        let other = "arn:aws:lambda:us-east-1:123456789012:function:Elsewhere";
        let mut function = found(
            "function.auto_confirm",
            "AppAutoConfirm",
            json!({"name": "AppAutoConfirm", "code": A, "runtime": "nodejs20.x", "handler": "index.handler",
                "role": "arn:aws:iam::123456789012:role/AppFn", "memory": 128, "timeout": 3,
                "environment": {}, "description": null, "architectures": ["x86_64"], "triggers": [],
                "tags": {}, "lambda_code": {"sha256": A}}),
            &[("arn", fn_arn), ("name", "AppAutoConfirm")],
        );
        function.files = vec![crate::adopt::File {
            relative: "index.js".into(),
            contents: crate::adopt::Contents::Code {
                bytes: INDEX.to_vec(),
                executable: false,
            },
        }];
        let pool = found(
            "user_pool.users",
            "us-east-1_Abc",
            json!({"name": "AppUsers", "triggers": {"pre_sign_up": fn_arn, "post_confirmation": other},
                "trigger_permissions": ["pre_sign_up", "post_confirmation"], "tags": {}}),
            &[
                ("id", "us-east-1_Abc"),
                (
                    "arn",
                    "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Abc",
                ),
            ],
        );
        let api = found(
            "api.api",
            "a1b2c3",
            json!({"name": "AppApi", "routes": {
                "POST /notes": {"authorization": "none", "integration": {"type": "lambda", "target": fn_arn}},
                "GET /x": {"authorization": "none", "integration": {"type": "lambda", "target": other}}},
                "tags": {}}),
            &[("id", "a1b2c3")],
        );
        let r = crate::adopt::render(
            "app",
            &[pool, api, function],
            &crate::adopt::tests::ctx(),
            vec![],
        );
        let text = &r.stack;
        assert!(
            text.contains("triggers.pre_sign_up = { function = \"auto_confirm\" }"),
            "{text}"
        );
        assert!(
            text.contains(&format!("triggers.post_confirmation = \"{other}\"")),
            "{text}"
        );
        assert!(
            text.contains("integration = { function = \"auto_confirm\" }"),
            "{text}"
        );
        assert!(
            text.contains(&format!("integration = {{ lambda = \"{other}\" }}")),
            "{text}"
        );
        assert!(
            text.contains("source = \"../functions/auto_confirm\""),
            "{text}"
        );
        assert!(
            !text.contains("mobile-backend:code") && !text.contains("lambda_code"),
            "{text}"
        );
        let files: Vec<&str> = r.files.iter().map(|f| f.relative.as_str()).collect();
        assert_eq!(files, ["../functions/auto_confirm/index.js"]);
        assert!(!text.contains("not downloaded"), "{text}");
        toml::from_str::<toml::Table>(text).expect("TOML");
    }
}
