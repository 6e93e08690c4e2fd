//! The PINs the proxy gives numbers that have none: six digits from the operating system's
//! generator, drawn again while they form a trivial pattern (one digit repeated, a run up or
//! down, a repeated pair or triple), since Meta makes the register PIN the number's two-step
//! verification PIN.

use wire::Pin;

/// `10^6`: how many six-digit PINs there are.
const PINS: u32 = 1_000_000;
/// The largest multiple of `PINS` a `u32` holds: draws at or above it are redrawn, so every
/// PIN is equally likely.
const UNBIASED_BELOW: u32 = (u32::MAX / PINS) * PINS;

/// True for PINs a person (or a guesser) would try first.
pub fn is_trivial(pin: &str) -> bool {
    let d: Vec<i8> = pin.bytes().map(|b| (b - b'0') as i8).collect();
    let steps: Vec<i8> = d.windows(2).map(|w| (w[1] - w[0]).rem_euclid(10)).collect();
    let same_step = steps.windows(2).all(|w| w[0] == w[1]);
    // 000000, 123456, 654321 (with the wrap of 890123 and 210987 too).
    let run = same_step && matches!(steps.first(), Some(0 | 1 | 9));
    // 121212, 123123.
    let period = |p: usize| d.iter().enumerate().all(|(i, x)| *x == d[i % p]);
    run || period(2) || period(3)
}

/// A fresh, non-trivial PIN.
///
/// # Errors
/// When the operating system has no randomness to give.
pub fn generate() -> Result<Pin, String> {
    loop {
        let mut bytes = [0u8; 4];
        getrandom::fill(&mut bytes).map_err(|e| format!("no randomness for a PIN: {e}"))?;
        let n = u32::from_le_bytes(bytes);
        if n >= UNBIASED_BELOW {
            continue;
        }
        let text = format!("{:06}", n % PINS);
        if is_trivial(&text) {
            continue;
        }
        return Pin::parse(text).map_err(|e| format!("generated PIN: {e}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trivial_patterns_are_recognised() {
        for trivial in [
            "000000", "999999", "123456", "234567", "012345", "654321", "987654", "890123",
            "121212", "123123", "909090",
        ] {
            assert!(is_trivial(trivial), "{trivial}");
        }
        for fine in ["042917", "135790", "112233", "100000", "123457", "246813"] {
            assert!(!is_trivial(fine), "{fine}");
        }
    }

    #[test]
    fn generated_pins_are_six_digits_varied_and_never_trivial() {
        let pins: Vec<String> = (0..200)
            .map(|_| generate().unwrap().as_str().to_owned())
            .collect();
        for p in &pins {
            assert_eq!(p.len(), 6);
            assert!(!is_trivial(p), "{p}");
        }
        let distinct: std::collections::HashSet<_> = pins.iter().collect();
        assert!(distinct.len() > 190, "{} distinct of 200", distinct.len());
    }
}
