//! The proxy's own pages on the way back from Meta's dialog: one sentence saying what
//! happened (in the page's language), or the chooser when the customer shared several
//! numbers. Nothing Meta sent is shown (its `error_description` is free text anyone can put
//! in a link); every value written into the page is escaped.

use wire::Locale;

use super::Candidate;

/// What a page says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// The state is unknown, used, expired or tampered with.
    StateInvalid,
    /// The customer cancelled in Meta's dialog.
    Cancelled,
    /// Meta's dialog ended with another error.
    MetaError,
    /// Meta refused the code (it lives 30 seconds).
    CodeRefused,
    /// Meta's Graph API could not be asked.
    Unavailable,
    /// The token reaches no WABA.
    NothingShared,
    /// The session expired or was revoked meanwhile, or does not allow the mode.
    SessionInvalid,
    /// The WABA and number belong to another customer's onboarding.
    AlreadyOnboarded,
    /// The session created all the onboardings it may.
    SessionExhausted,
    /// A session renewing an onboarding's access, signed in for another WABA or number.
    WrongAccount,
    /// Something failed on the proxy's side.
    Failed,
}

impl Notice {
    /// A stable name, the page's `data-state`.
    pub fn as_str(self) -> &'static str {
        match self {
            Notice::StateInvalid => "state-invalid",
            Notice::Cancelled => "cancelled",
            Notice::MetaError => "meta-error",
            Notice::CodeRefused => "code-refused",
            Notice::Unavailable => "unavailable",
            Notice::NothingShared => "nothing-shared",
            Notice::SessionInvalid => "session-invalid",
            Notice::AlreadyOnboarded => "already-onboarded",
            Notice::SessionExhausted => "session-exhausted",
            Notice::WrongAccount => "wrong-account",
            Notice::Failed => "failed",
        }
    }
}

/// The page's texts in one language.
struct Texts {
    lang: &'static str,
    title: &'static str,
    choose: &'static str,
    choose_help: &'static str,
    connect: &'static str,
    no_number: &'static str,
}

fn texts(locale: Locale) -> Texts {
    match locale {
        Locale::En => Texts {
            lang: "en",
            title: "Connecting WhatsApp",
            choose: "Which WhatsApp number should be connected?",
            choose_help: "You shared more than one. Choose the one to connect now.",
            connect: "Connect this number",
            no_number: "no phone number yet",
        },
        Locale::ZhHans => Texts {
            lang: "zh-Hans",
            title: "正在连接 WhatsApp",
            choose: "要连接哪个 WhatsApp 号码？",
            choose_help: "您共享了多个号码。请选择现在要连接的号码。",
            connect: "连接此号码",
            no_number: "尚无电话号码",
        },
        Locale::ZhHant => Texts {
            lang: "zh-Hant",
            title: "正在連接 WhatsApp",
            choose: "要連接哪個 WhatsApp 號碼？",
            choose_help: "您分享了多個號碼。請選擇現在要連接的號碼。",
            connect: "連接此號碼",
            no_number: "尚無電話號碼",
        },
        Locale::Vi => Texts {
            lang: "vi",
            title: "Đang kết nối WhatsApp",
            choose: "Bạn muốn kết nối số WhatsApp nào?",
            choose_help: "Bạn đã chia sẻ nhiều số. Hãy chọn số cần kết nối bây giờ.",
            connect: "Kết nối số này",
            no_number: "chưa có số điện thoại",
        },
    }
}

/// The sentence of a notice in `locale`.
pub fn sentence(locale: Locale, notice: Notice) -> &'static str {
    use Notice::*;
    match (locale, notice) {
        (Locale::En, StateInvalid) => "This sign-in link has expired or was already used. Go back to the page where you started and try again.",
        (Locale::En, Cancelled) => "You cancelled the sign-in with Facebook. Nothing was connected. Go back to the page where you started to try again.",
        (Locale::En, MetaError) => "Facebook could not complete the sign-in. Nothing was connected. Go back to the page where you started and try again.",
        (Locale::En, CodeRefused) => "Facebook did not confirm the sign-in in time. Nothing was connected. Go back to the page where you started and try again.",
        (Locale::En, Unavailable) => "Facebook could not be reached to confirm the sign-in. Nothing was connected. Please try again in a few minutes.",
        (Locale::En, NothingShared) => "No WhatsApp Business Account was shared during the sign-in. Go back to the page where you started, try again and finish every step.",
        (Locale::En, SessionInvalid) => "This sign-up link is no longer valid. Please ask for a new link.",
        (Locale::En, AlreadyOnboarded) => "This WhatsApp number is already connected for another customer. Please contact the business that sent you the link.",
        (Locale::En, SessionExhausted) => "This sign-up link has been used as many times as it may. Please ask for a new link.",
        (Locale::En, WrongAccount) => "This sign-in chose another WhatsApp Business Account or number than the one whose access is being renewed. Nothing was changed. Go back to the page where you started, sign in again and choose the same account and number.",
        (Locale::En, Failed) => "Something went wrong on our side. Nothing was connected. Please try again in a few minutes.",
        (Locale::ZhHans, StateInvalid) => "此登录链接已过期或已被使用。请返回开始的页面重试。",
        (Locale::ZhHans, Cancelled) => "您已取消 Facebook 登录，未连接任何内容。请返回开始的页面重试。",
        (Locale::ZhHans, MetaError) => "Facebook 无法完成登录，未连接任何内容。请返回开始的页面重试。",
        (Locale::ZhHans, CodeRefused) => "Facebook 未能及时确认登录，未连接任何内容。请返回开始的页面重试。",
        (Locale::ZhHans, Unavailable) => "无法联系 Facebook 确认登录，未连接任何内容。请过几分钟再试。",
        (Locale::ZhHans, NothingShared) => "登录时未共享任何 WhatsApp Business 账户。请返回开始的页面重试，并完成每个步骤。",
        (Locale::ZhHans, SessionInvalid) => "此注册链接已失效。请索取新的链接。",
        (Locale::ZhHans, AlreadyOnboarded) => "此 WhatsApp 号码已为其他客户连接。请联系向您发送链接的企业。",
        (Locale::ZhHans, SessionExhausted) => "此注册链接的使用次数已达上限。请索取新的链接。",
        (Locale::ZhHans, WrongAccount) => "此次登录选择的 WhatsApp Business 账户或号码与正在续期访问权限的不同，未做任何更改。请返回开始的页面重新登录，并选择相同的账户和号码。",
        (Locale::ZhHans, Failed) => "我们这边出了问题，未连接任何内容。请过几分钟再试。",
        (Locale::ZhHant, StateInvalid) => "此登入連結已過期或已被使用。請返回開始的頁面重試。",
        (Locale::ZhHant, Cancelled) => "您已取消 Facebook 登入，未連接任何內容。請返回開始的頁面重試。",
        (Locale::ZhHant, MetaError) => "Facebook 無法完成登入，未連接任何內容。請返回開始的頁面重試。",
        (Locale::ZhHant, CodeRefused) => "Facebook 未能及時確認登入，未連接任何內容。請返回開始的頁面重試。",
        (Locale::ZhHant, Unavailable) => "無法聯絡 Facebook 確認登入，未連接任何內容。請過幾分鐘再試。",
        (Locale::ZhHant, NothingShared) => "登入時未分享任何 WhatsApp Business 帳戶。請返回開始的頁面重試，並完成每個步驟。",
        (Locale::ZhHant, SessionInvalid) => "此註冊連結已失效。請索取新的連結。",
        (Locale::ZhHant, AlreadyOnboarded) => "此 WhatsApp 號碼已為其他客戶連接。請聯絡向您傳送連結的企業。",
        (Locale::ZhHant, SessionExhausted) => "此註冊連結的使用次數已達上限。請索取新的連結。",
        (Locale::ZhHant, WrongAccount) => "此次登入選擇的 WhatsApp Business 帳戶或號碼與正在續期存取權限的不同，未做任何變更。請返回開始的頁面重新登入，並選擇相同的帳戶和號碼。",
        (Locale::ZhHant, Failed) => "我們這邊出了問題，未連接任何內容。請過幾分鐘再試。",
        (Locale::Vi, StateInvalid) => "Liên kết đăng nhập này đã hết hạn hoặc đã được dùng. Hãy quay lại trang bạn bắt đầu và thử lại.",
        (Locale::Vi, Cancelled) => "Bạn đã hủy đăng nhập Facebook. Chưa có gì được kết nối. Hãy quay lại trang bạn bắt đầu để thử lại.",
        (Locale::Vi, MetaError) => "Facebook không thể hoàn tất đăng nhập. Chưa có gì được kết nối. Hãy quay lại trang bạn bắt đầu và thử lại.",
        (Locale::Vi, CodeRefused) => "Facebook không xác nhận đăng nhập kịp thời. Chưa có gì được kết nối. Hãy quay lại trang bạn bắt đầu và thử lại.",
        (Locale::Vi, Unavailable) => "Không liên lạc được với Facebook để xác nhận đăng nhập. Chưa có gì được kết nối. Vui lòng thử lại sau vài phút.",
        (Locale::Vi, NothingShared) => "Không có Tài khoản WhatsApp Business nào được chia sẻ khi đăng nhập. Hãy quay lại trang bạn bắt đầu, thử lại và hoàn tất mọi bước.",
        (Locale::Vi, SessionInvalid) => "Liên kết đăng ký này không còn hiệu lực. Vui lòng xin một liên kết mới.",
        (Locale::Vi, AlreadyOnboarded) => "Số WhatsApp này đã được kết nối cho một khách hàng khác. Vui lòng liên hệ doanh nghiệp đã gửi liên kết cho bạn.",
        (Locale::Vi, SessionExhausted) => "Liên kết đăng ký này đã được dùng hết số lần cho phép. Vui lòng xin một liên kết mới.",
        (Locale::Vi, WrongAccount) => "Lần đăng nhập này đã chọn một Tài khoản WhatsApp Business hoặc số điện thoại khác với tài khoản đang được gia hạn quyền truy cập. Chưa có gì thay đổi. Hãy quay lại trang bạn bắt đầu, đăng nhập lại và chọn đúng tài khoản và số đó.",
        (Locale::Vi, Failed) => "Đã xảy ra lỗi ở phía chúng tôi. Chưa có gì được kết nối. Vui lòng thử lại sau vài phút.",
    }
}

/// Escapes text for HTML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn frame(t: &Texts, body: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{title}</title>
<style>
  body {{ font: 16px/1.5 system-ui, sans-serif; margin: 0; padding: 1.5rem; color: #1c1e21; background: #f0f2f5; }}
  main {{ max-width: 32rem; margin: auto; background: #fff; border-radius: 12px; padding: 1.25rem 1.5rem; }}
  h1 {{ font-size: 1.25rem; margin: 0 0 .75rem; }}
  fieldset {{ border: 1px solid #c9ccd1; border-radius: 8px; padding: .75rem 1rem; margin: 0 0 1rem; }}
  legend {{ font-weight: 600; padding: 0 .25rem; }}
  label {{ display: block; margin: .35rem 0; }}
  button {{ font: inherit; font-weight: 600; padding: .5rem .9rem; border-radius: 6px; border: 2px solid #1a56db;
           background: #1a56db; color: #fff; cursor: pointer; }}
  button:focus-visible, input:focus-visible {{ outline: 3px solid #0b6e4f; outline-offset: 2px; }}
</style>
</head>
<body>
<main>
<h1>{title}</h1>
{body}
</main>
</body>
</html>
"#,
        lang = t.lang,
        title = t.title,
    )
}

/// A page with one sentence.
pub fn notice(locale: Locale, notice: Notice) -> String {
    let t = texts(locale);
    frame(
        &t,
        &format!(
            r#"<p role="status" data-testid="redirect-notice" data-state="{}">{}</p>"#,
            notice.as_str(),
            sentence(locale, notice)
        ),
    )
}

/// The chooser: one radio button per candidate, posted back with the state.
pub fn chooser(locale: Locale, state: &str, candidates: &[Candidate]) -> String {
    let t = texts(locale);
    let mut options = String::new();
    for (i, c) in candidates.iter().enumerate() {
        let number = c
            .display_phone_number
            .clone()
            .or_else(|| c.phone_number_id.as_ref().map(|p| p.as_str().to_owned()))
            .unwrap_or_else(|| t.no_number.to_owned());
        let name = c
            .verified_name
            .as_deref()
            .map(|n| format!(" — {}", escape(n)))
            .unwrap_or_default();
        options.push_str(&format!(
            r#"<label><input type="radio" name="choice" value="{i}" required{checked}> {number}{name} <small>(WABA {waba})</small></label>
"#,
            checked = if i == 0 { " checked" } else { "" },
            number = escape(&number),
            waba = escape(c.waba_id.as_str()),
        ));
    }
    frame(
        &t,
        &format!(
            r#"<form method="post" action="{path}" data-testid="redirect-chooser">
<input type="hidden" name="state" value="{state}">
<fieldset>
<legend>{choose}</legend>
<p>{help}</p>
{options}</fieldset>
<button type="submit" data-testid="redirect-choose">{connect}</button>
</form>"#,
            path = super::CALLBACK_PATH,
            state = escape(state),
            choose = t.choose,
            help = t.choose_help,
            connect = t.connect,
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::WabaId;

    #[test]
    fn every_notice_has_a_sentence_in_every_language() {
        use Notice::*;
        for locale in [Locale::En, Locale::ZhHans, Locale::ZhHant, Locale::Vi] {
            for n in [
                StateInvalid,
                Cancelled,
                MetaError,
                CodeRefused,
                Unavailable,
                NothingShared,
                SessionInvalid,
                AlreadyOnboarded,
                SessionExhausted,
                Failed,
            ] {
                let page = notice(locale, n);
                assert!(page.contains(sentence(locale, n)));
                assert!(page.contains(&format!("lang=\"{}\"", texts(locale).lang)));
            }
        }
    }

    #[test]
    fn what_graph_says_is_escaped() {
        let c = Candidate {
            waba_id: WabaId::parse("104996122399160").unwrap(),
            phone_number_id: None,
            business_id: None,
            display_phone_number: Some("<script>x</script>".into()),
            verified_name: Some("\"><img src=x>".into()),
            is_on_biz_app: None,
        };
        let page = chooser(Locale::En, "v1.a.b", &[c]);
        assert!(!page.contains("<script>x"));
        assert!(!page.contains("<img"));
        assert!(page.contains("&lt;script&gt;"));
    }
}
