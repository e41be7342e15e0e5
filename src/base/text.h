/* Text drawn into an 8-bit plane (luma, or a gray image) with a built-in
 * 5x7 font: the test pattern's frame counter and the live view's
 * placeholder ("camera lost 12:03:07 UTC, reconnecting").
 *
 * The font has the digits, the letters A-Z (lowercase is drawn as
 * uppercase) and  # : . , - _ ( ) / ! ? ' " = + %; any other character is
 * drawn as a space. Each character cell is 6x9 font dots (one dot of
 * spacing and a one-dot margin around a line); a dot is scale x scale
 * pixels. */
#ifndef CR_BASE_TEXT_H
#define CR_BASE_TEXT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Width and height in pixels of text drawn at scale (pixels per font dot,
 * >= 1): (6 x characters + 1) x scale by 9 x scale. */
int cr_text_width(const char *text, int scale);
#define CR_TEXT_HEIGHT(scale) (9 * (scale))

/* Draws text with its top left corner at (x, y) pixels into plane (width x
 * height pixels, stride bytes per row): a box of value bg the size
 * cr_text_width() gives, the glyphs in value fg. Whatever falls outside the
 * plane is clipped. */
void cr_text_draw(uint8_t *plane, int stride, int width, int height, int x, int y, int scale, const char *text,
		  uint8_t fg, uint8_t bg);

#ifdef __cplusplus
}
#endif

#endif
