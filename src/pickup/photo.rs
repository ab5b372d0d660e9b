//! Photos are cleaned before they are kept (issue 18 §2): decoded and
//! encoded again, which drops EXIF (GPS position, camera, time) and every
//! other metadata block, and scaled down to a size the gate needs.

use crate::error::ApiError;
use image::{DynamicImage, ImageFormat, ImageReader, Limits};
use std::io::Cursor;

/// The longest side of a kept photo, in pixels.
pub const PHOTO_MAX_SIDE: u32 = 1024;
/// The largest image accepted at all, in pixels (a phone's 24 MP photo).
pub const PHOTO_MAX_PIXELS: u64 = 24_000_000;

fn refused(detail: &str) -> ApiError {
    ApiError::invalid("photo", detail)
}

fn reader(bytes: &[u8], format: ImageFormat) -> ImageReader<Cursor<&[u8]>> {
    let mut r = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_alloc = Some(256 * 1024 * 1024);
    r.limits(limits);
    r
}

/// The photo as it will be kept: decoded, at most `PHOTO_MAX_SIDE` on its
/// longest side, encoded again in its own format with no metadata. 422 for
/// what cannot be decoded or has more than `PHOTO_MAX_PIXELS`.
pub fn clean(bytes: &[u8], content_type: &str) -> Result<Vec<u8>, ApiError> {
    let format = if content_type == "image/png" {
        ImageFormat::Png
    } else {
        ImageFormat::Jpeg
    };
    let (w, h) = reader(bytes, format)
        .into_dimensions()
        .map_err(|_| refused("photo cannot be read as a JPEG or PNG"))?;
    if u64::from(w) * u64::from(h) > PHOTO_MAX_PIXELS {
        return Err(refused("photo must have at most 24 megapixels"));
    }
    let img = reader(bytes, format)
        .decode()
        .map_err(|_| refused("photo cannot be read as a JPEG or PNG"))?;
    let img = if w.max(h) > PHOTO_MAX_SIDE {
        img.resize(
            PHOTO_MAX_SIDE,
            PHOTO_MAX_SIDE,
            image::imageops::FilterType::Triangle,
        )
    } else {
        img
    };
    let mut out = Cursor::new(Vec::new());
    let written = match format {
        ImageFormat::Png => img.write_to(&mut out, ImageFormat::Png),
        _ => DynamicImage::ImageRgb8(img.to_rgb8()).write_to(&mut out, ImageFormat::Jpeg),
    };
    written.map_err(|_| refused("photo cannot be encoded again"))?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = DynamicImage::new_rgb8(w, h);
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Jpeg).unwrap();
        out.into_inner()
    }

    #[test]
    fn a_large_photo_is_scaled_to_the_longest_side() {
        let cleaned = clean(&jpeg(2048, 1024), "image/jpeg").unwrap();
        let img = image::load_from_memory(&cleaned).unwrap();
        assert_eq!((img.width(), img.height()), (1024, 512));
    }

    #[test]
    fn what_is_not_an_image_is_refused() {
        let e = clean(b"\xFF\xD8\xFFnot a jpeg", "image/jpeg").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("photo"));
    }
}
