//! The pages a person sees: the consent page of `authorize`, the device verification
//! form the QR code opens, and short result pages. Plain HTML forms with a little
//! inline CSS: no scripts, no external resources, readable on a phone.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::state::Subject;

const STYLE: &str = "\
*{box-sizing:border-box}\
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;\
background:#f3f5f7;color:#1d2329;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}\
main{width:100%;max-width:420px;margin:24px;padding:32px;background:#fff;border-radius:12px;\
box-shadow:0 1px 3px rgba(0,0,0,.08),0 8px 24px rgba(0,0,0,.06)}\
.brand{font-size:13px;font-weight:600;letter-spacing:.04em;text-transform:uppercase;color:#0a7a5a;margin:0 0 16px}\
h1{font-size:22px;line-height:1.3;margin:0 0 12px}\
p{margin:0 0 16px;color:#3c4650}\
.who{padding:12px 14px;background:#f6f8fa;border-radius:8px;margin:0 0 16px}\
.who b{display:block;color:#1d2329}\
ul{margin:0 0 16px;padding-left:20px}li{margin:2px 0}\
code{font:14px ui-monospace,Menlo,Consolas,monospace;background:#f0f2f4;padding:1px 5px;border-radius:4px;word-break:break-all}\
label{display:block;font-weight:600;margin:0 0 6px}\
input[type=text]{width:100%;padding:12px;font:24px ui-monospace,Menlo,Consolas,monospace;letter-spacing:.12em;\
text-align:center;text-transform:uppercase;border:1px solid #b8c0c8;border-radius:8px;margin:0 0 16px}\
input[type=text]:focus{outline:2px solid #0a7a5a;border-color:#0a7a5a}\
.actions{display:flex;gap:12px}\
button{flex:1;padding:12px 16px;font:600 16px system-ui,sans-serif;border-radius:8px;cursor:pointer;border:1px solid #b8c0c8;background:#fff;color:#1d2329}\
button.primary{background:#0a7a5a;border-color:#0a7a5a;color:#fff}\
button:focus-visible{outline:3px solid #8fd3bd;outline-offset:2px}\
.error{padding:10px 14px;border-radius:8px;background:#fdecec;color:#a01818;margin:0 0 16px}\
.note{font-size:13px;color:#6a747e;margin:16px 0 0}";

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

fn page(status: u16, title: &str, body: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{title}</title><style>{STYLE}</style></head><body><main>\
<p class=\"brand\">Webex emulator</p>{body}</main></body></html>",
        title = escape(title),
    );
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    // Nothing but the inline style may load, and no one may frame the page. No
    // `form-action`: the consent form's answer redirects to the app's own origin.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A title and one paragraph.
pub(crate) fn message(status: u16, title: &str, text: &str) -> Response {
    page(status, title, &format!("<h1>{}</h1><p>{}</p>", escape(title), escape(text)))
}

/// "Allow CLIENT to use your Webex account?" with the scopes asked for.
pub(crate) fn consent(
    action: &str,
    consent_id: &str,
    client_id: &str,
    scope: &str,
    redirect_uri: &str,
    subject: &Subject,
) -> Response {
    let scopes: String = scope.split_whitespace().map(|s| format!("<li><code>{}</code></li>", escape(s))).collect();
    let body = format!(
        "<h1>Allow <code>{client}</code> to use your Webex account?</h1>\
<div class=\"who\">Signed in as<b>{name}</b>{email}</div>\
<p>It asks for:</p><ul>{scopes}</ul>\
<form method=\"post\" action=\"{action}\">\
<input type=\"hidden\" name=\"consent\" value=\"{consent_id}\">\
<div class=\"actions\">\
<button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\
<button type=\"submit\" name=\"decision\" value=\"allow\" class=\"primary\" autofocus>Allow</button>\
</div></form>\
<p class=\"note\">Your answer goes back to<br><code>{redirect}</code></p>",
        client = escape(client_id),
        name = escape(&subject.display_name),
        email = escape(&subject.email),
        action = escape(action),
        consent_id = escape(consent_id),
        redirect = escape(redirect_uri),
    );
    page(200, "Sign in with Webex", &body)
}

/// The code form: typed by the person, or filled in from the QR link's `userCode`.
pub(crate) fn verify_form(status: u16, action: &str, user_code: &str, error: Option<&str>) -> Response {
    let error = error.map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e))).unwrap_or_default();
    let body = format!(
        "<h1>Sign in a device</h1>\
<p>Enter the code shown on your device, then approve the sign-in.</p>{error}\
<form method=\"post\" action=\"{action}\">\
<label for=\"user_code\">Code</label>\
<input type=\"text\" id=\"user_code\" name=\"user_code\" value=\"{code}\" placeholder=\"XXXX-XXXX\" \
autocomplete=\"off\" autocapitalize=\"characters\" spellcheck=\"false\" required>\
<div class=\"actions\">\
<button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button>\
<button type=\"submit\" name=\"decision\" value=\"approve\" class=\"primary\">Approve</button>\
</div></form>",
        action = escape(action),
        code = escape(user_code),
    );
    page(status, "Sign in a device", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_it_shows() {
        assert_eq!(escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }
}
