//! Avatars: an uploaded image or an image URL per user (`users.setAvatar`, `users.resetAvatar`),
//! served at `/avatar/{username}`; without one, an SVG of the name's initial on a colour derived
//! from the name (as Rocket.Chat generates).

use base64::Engine;
use sha2::{Digest, Sha256};

use super::{Actor, Huddle, UserLookup};
use crate::model::{Avatar, User};
use crate::{Error, Failure, Result, Timestamp};

/// The largest uploaded avatar.
pub const MAX_AVATAR_BYTES: usize = 2 * 1024 * 1024;

/// What `/avatar/{username}` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AvatarImage {
    Image {
        content_type: String,
        bytes: Vec<u8>,
        etag: String,
    },
    /// The user chose an image URL: the route redirects there.
    Redirect(String),
    /// No avatar: the generated SVG.
    Initials { svg: String, etag: String },
}

/// The image type of uploaded bytes, by their signature. SVG is refused: served from this
/// origin it could carry script.
fn image_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

fn etag_of(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest[..12].iter().map(|b| format!("{b:02x}")).collect()
}

/// Rocket.Chat's generated avatar: the first letter, upper-cased, on one of its colours.
pub fn initials_svg(name: &str) -> String {
    const COLORS: &[&str] = &[
        "#F44336", "#E91E63", "#9C27B0", "#673AB7", "#3F51B5", "#2196F3", "#03A9F4", "#00BCD4",
        "#009688", "#4CAF50", "#8BC34A", "#CDDC39", "#FFC107", "#FF9800", "#FF5722", "#795548",
        "#9E9E9E", "#607D8B",
    ];
    let initial: String = name
        .chars()
        .find(|c| c.is_alphanumeric())
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_else(|| "?".into());
    // Escaped: the name comes from the URL.
    let initial = initial
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let sum: usize = name.bytes().map(usize::from).sum();
    let color = COLORS[sum % COLORS.len()];
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" pointer-events=\"none\" width=\"200\" height=\"200\">\
         <rect width=\"200\" height=\"200\" fill=\"{color}\"/>\
         <text x=\"50%\" y=\"50%\" dy=\"0.36em\" text-anchor=\"middle\" pointer-events=\"none\" fill=\"#ffffff\" \
         font-family=\"Helvetica, Arial, Lucida Grande, sans-serif\" font-size=\"125\">{initial}</text></svg>"
    )
}

impl Huddle {
    /// The user whose avatar the caller changes: themself, or anyone with
    /// `edit-other-user-avatar`.
    async fn avatar_target(&self, actor: &Actor, who: Option<&UserLookup>) -> Result<User> {
        let user = match who {
            None => return Ok(actor.user.clone()),
            Some(l) => self.find_user(Some(l)).await?,
        };
        if user.id != actor.user.id && !self.has_permission(&actor.user, "edit-other-user-avatar") {
            return Err(Error::Forbidden(Failure::new(
                "error-not-allowed",
                "Not allowed",
            )));
        }
        Ok(user)
    }

    /// `users.setAvatar` with an uploaded image.
    pub async fn set_avatar_image(
        &self,
        actor: &Actor,
        who: Option<&UserLookup>,
        bytes: &[u8],
    ) -> Result<()> {
        let user = self.avatar_target(actor, who).await?;
        if bytes.len() > MAX_AVATAR_BYTES {
            return Err(Error::invalid(
                "error-file-too-large",
                "File size exceeds allowed size of 2 MB",
            ));
        }
        let Some(content_type) = image_type(bytes) else {
            return Err(Error::invalid(
                "error-avatar-invalid-type",
                "The avatar must be a PNG, JPEG, GIF or WebP image",
            ));
        };
        let avatar = Avatar {
            content_type: content_type.into(),
            data: base64::engine::general_purpose::STANDARD.encode(bytes),
            url: None,
            etag: etag_of(bytes),
            updated_at: Timestamp::now(),
        };
        self.store.set_avatar(&user.id, Some(&avatar)).await
    }

    /// `users.setAvatar` with `avatarUrl`: stored and redirected to, never fetched by the
    /// server (a URL the server fetched could reach its private network).
    pub async fn set_avatar_url(
        &self,
        actor: &Actor,
        who: Option<&UserLookup>,
        url: &str,
    ) -> Result<()> {
        let user = self.avatar_target(actor, who).await?;
        let url = url.trim();
        let web = url.starts_with("https://") || url.starts_with("http://");
        if !web || url.len() > 2048 || url.contains(char::is_whitespace) {
            return Err(Error::invalid(
                "error-avatar-invalid-url",
                format!("Invalid avatar URL: {url}"),
            ));
        }
        let avatar = Avatar {
            content_type: String::new(),
            data: String::new(),
            url: Some(url.to_string()),
            etag: etag_of(url.as_bytes()),
            updated_at: Timestamp::now(),
        };
        self.store.set_avatar(&user.id, Some(&avatar)).await
    }

    /// `users.resetAvatar`: back to the generated image.
    pub async fn reset_avatar(&self, actor: &Actor, who: Option<&UserLookup>) -> Result<()> {
        let user = self.avatar_target(actor, who).await?;
        self.store.set_avatar(&user.id, None).await
    }

    /// What `/avatar/{name}` shows: the user's own avatar, else the generated one (for any
    /// name, as Rocket.Chat does, so the route does not tell who has an account).
    pub async fn avatar_image(&self, name: &str) -> Result<AvatarImage> {
        let user = self
            .store
            .user_by_username(name)
            .await?
            .filter(|u| u.active);
        if let Some(user) = user {
            if let Some(a) = self.store.avatar(&user.id).await? {
                if let Some(url) = a.url {
                    return Ok(AvatarImage::Redirect(url));
                }
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(a.data.as_bytes())
                    .map_err(|e| Error::Internal(format!("a stored avatar is not base64: {e}")))?;
                return Ok(AvatarImage::Image {
                    content_type: a.content_type,
                    bytes,
                    etag: a.etag,
                });
            }
        }
        let svg = initials_svg(name);
        let etag = etag_of(svg.as_bytes());
        Ok(AvatarImage::Initials { svg, etag })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_recognised_by_their_bytes() {
        assert_eq!(image_type(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(image_type(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("image/jpeg"));
        assert_eq!(image_type(b"GIF89a...."), Some("image/gif"));
        assert_eq!(image_type(b"<svg xmlns="), None);
        assert_eq!(image_type(b""), None);
    }

    #[test]
    fn initials_are_escaped_and_coloured_by_name() {
        let svg = initials_svg("<script>");
        assert!(!svg.contains("<script>"));
        assert!(initials_svg("alice").contains(">A</text>"));
        assert_eq!(initials_svg("bob"), initials_svg("bob"));
    }
}
