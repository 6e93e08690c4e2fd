//! QR codes of session links, as one SVG path (a square per dark module).

use qrcodegen::{QrCode, QrCodeEcc};

/// The code of `text`: its side in modules (without the quiet zone) and the SVG path of its
/// dark modules, offset by a four-module quiet zone. None when `text` is too long.
pub fn svg_path(text: &str) -> Option<(i32, String)> {
    let code = QrCode::encode_text(text, QrCodeEcc::Medium).ok()?;
    let size = code.size();
    let mut path = String::new();
    for y in 0..size {
        for x in 0..size {
            if code.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + 4, y + 4));
            }
        }
    }
    Some((size + 8, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_becomes_a_code_with_its_quiet_zone() {
        let (side, path) = svg_path(
            "http://127.0.0.1:8080/?session=ses_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
        )
        .unwrap();
        // Version 4 or 5 for a link this long: 33 or 37 modules, plus 8 of quiet zone.
        assert!((41..=45).contains(&side), "{side}");
        // The finder pattern's top-left corner is dark, right after the quiet zone.
        assert!(path.starts_with("M4,4h1v1h-1z"), "{}", &path[..20]);
        assert!(svg_path(&"x".repeat(5000)).is_none());
    }
}
