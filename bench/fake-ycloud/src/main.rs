//! `fake-ycloud ADDR`: answers YCloud's `tp/bind` and `register` at once (CONNECTED), and
//! anything else with a WABA object. Prints `listening on ADDR` when ready.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;

fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = TcpListener::bind(&addr).expect("bind");
    println!("listening on {}", listener.local_addr().unwrap());
    for stream in listener.incoming().flatten() {
        thread::spawn(move || {
            let _ = serve(stream);
        });
    }
}

fn serve(stream: TcpStream) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut out = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let mut length = 0usize;
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        if length > 0 {
            let mut body = vec![0; length];
            reader.read_exact(&mut body)?;
        }
        let body = answer(&path);
        // One write per answer: several small writes would meet Nagle and delayed ACKs.
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nycloud-request-id: fake\r\n\r\n{}",
            body.len(),
            body
        );
        out.write_all(response.as_bytes())?;
    }
}

/// `/v2/whatsapp/phoneNumbers/{waba}/{phone}/register` or
/// `/v2/whatsapp/businessAccounts/{waba}/tp/bind` (or anything else: a WABA).
fn answer(path: &str) -> String {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    if let Some(i) = parts.iter().position(|p| *p == "phoneNumbers") {
        let waba = parts.get(i + 1).copied().unwrap_or("0");
        let phone = parts.get(i + 2).copied().unwrap_or("0");
        format!(
            r#"{{"id":"{phone}","phoneNumber":"+15550001111","displayPhoneNumber":"+1 555-000-1111","wabaId":"{waba}","verifiedName":"Bench Shop","qualityRating":"GREEN","messagingLimit":"TIER_250","codeVerificationStatus":"VERIFIED","nameStatus":"APPROVED","status":"CONNECTED"}}"#
        )
    } else {
        let waba = parts
            .iter()
            .position(|p| *p == "businessAccounts")
            .and_then(|i| parts.get(i + 1))
            .copied()
            .unwrap_or("0");
        format!(
            r#"{{"id":"{waba}","name":"Bench WABA","accountReviewStatus":"APPROVED","paymentMethodAttached":true,"currency":"USD","timezoneId":"1"}}"#
        )
    }
}
