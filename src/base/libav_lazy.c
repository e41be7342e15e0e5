/* libavcodec and libavformat, loaded on first use.
 *
 * Why: Debian's libavcodec and libavformat pull in about 150 libraries
 * (x265, rav1e, aom, librsvg, glib, ...): mapping them costs about 17 MiB
 * of RSS, most of camrig's own when it only serves the live view, whose
 * JPEG work is libturbojpeg's. They are needed only once a video encoder,
 * a muxer or a demuxer is opened (recording, the pre-trigger, raw H.264,
 * RTSP, the file source, `camrig verify` and `timelapse assemble`).
 *
 * How: camrig is compiled with their headers but not linked against them.
 * Every function of theirs camrig calls is defined here under its own name,
 * with the prototype the header declares (so the compiler checks each one
 * against the header); the first call of any of them opens the libraries
 * by soname (libavformat's DT_NEEDED brings libavcodec), and each function
 * finds its symbol once. libavutil and libswscale (image conversion on the
 * live path, about 2.5 MiB) stay linked.
 *
 * The cost moves to the first use: the load takes 40 ms on the machine
 * this was written on (0.2 s from a cold disk), during which glibc's loader
 * lock also holds back the creation of threads, so HTTP requests (a thread
 * each) wait for it once.
 *
 * A function missing here fails the link (undefined reference): add it
 * with LAZY(), LAZY_VOID() or LAZY_FREE(). */
#include "base/libav_lazy.h"

#include "base/log.h"

#include <dlfcn.h>
#include <libavcodec/avcodec.h>
#include <libavcodec/bsf.h>
#include <libavformat/avformat.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#define SONAME(lib, major) "lib" lib ".so." AV_STRINGIFY(major)

static pthread_once_t once = PTHREAD_ONCE_INIT;
static void *libavformat; /* set once by open_libraries() (pthread_once); brings libavcodec */
static char why[512];

static void open_libraries(void)
{
	void *lib = dlopen(SONAME("avformat", LIBAVFORMAT_VERSION_MAJOR), RTLD_NOW | RTLD_LOCAL);

	if (!lib) {
		snprintf(why, sizeof(why), "FFmpeg's libraries cannot be loaded: %s", dlerror());
		return;
	}
	libavformat = lib;
	cr_debug("libav: loaded %s and %s", SONAME("avformat", LIBAVFORMAT_VERSION_MAJOR),
		 SONAME("avcodec", LIBAVCODEC_VERSION_MAJOR));
}

int cr_libav_load(char *reason, size_t len)
{
	pthread_once(&once, open_libraries);
	if (libavformat)
		return 0;
	snprintf(reason, len, "%s", why);
	return -1;
}

/* The address of `name` in the libraries; exits the process when they or
 * the symbol cannot be found, as the dynamic linker would have at start. */
static void *resolve(const char *name)
{
	char reason[sizeof(why)];
	void *sym;

	if (cr_libav_load(reason, sizeof(reason)) != 0) {
		cr_err("%s (needed for %s)", reason, name);
		abort();
	}
	sym = dlsym(libavformat, name);
	if (!sym) {
		cr_err("FFmpeg's libraries have no %s: %s", name, dlerror());
		abort();
	}
	return sym;
}

/* One cached pointer per function; two first calls racing both resolve the
 * same address. */
#define BIND(name)                                                                                                    \
	static __typeof__(name) *_Atomic fn;                                                                          \
	__typeof__(name) *f = atomic_load_explicit(&fn, memory_order_acquire);                                        \
	if (!f) {                                                                                                     \
		f = (__typeof__(name) *)resolve(#name);                                                               \
		atomic_store_explicit(&fn, f, memory_order_release);                                                  \
	}

#define LAZY(ret, name, params, args)                                                                                 \
	ret name params                                                                                               \
	{                                                                                                             \
		BIND(name)                                                                                            \
		return f args;                                                                                        \
	}

#define LAZY_VOID(name, params, args)                                                                                 \
	void name params                                                                                              \
	{                                                                                                             \
		BIND(name)                                                                                            \
		f args;                                                                                               \
	}

/* A free of nothing (documented as a no-op) does not load the libraries,
 * so a part that never used them shuts down without them. */
#define LAZY_FREE(name, type)                                                                                         \
	void name(type **p)                                                                                           \
	{                                                                                                             \
		if (!p || !*p)                                                                                        \
			return;                                                                                       \
		BIND(name)                                                                                            \
		f(p);                                                                                                 \
	}

/* libavcodec: packets */
LAZY(AVPacket *, av_packet_alloc, (void), ())
LAZY(AVPacket *, av_packet_clone, (const AVPacket *src), (src))
LAZY_FREE(av_packet_free, AVPacket)
LAZY(int, av_packet_ref, (AVPacket *dst, const AVPacket *src), (dst, src))
LAZY_VOID(av_packet_unref, (AVPacket *pkt), (pkt))
LAZY_VOID(av_packet_move_ref, (AVPacket *dst, AVPacket *src), (dst, src))
LAZY_VOID(av_packet_rescale_ts, (AVPacket *pkt, AVRational tb_src, AVRational tb_dst), (pkt, tb_src, tb_dst))
LAZY(int, av_new_packet, (AVPacket *pkt, int size), (pkt, size))

/* libavcodec: bitstream filters */
LAZY(const AVBitStreamFilter *, av_bsf_get_by_name, (const char *name), (name))
LAZY(int, av_bsf_alloc, (const AVBitStreamFilter *filter, AVBSFContext **ctx), (filter, ctx))
LAZY(int, av_bsf_init, (AVBSFContext *ctx), (ctx))
LAZY_FREE(av_bsf_free, AVBSFContext)

/* libavcodec: codecs */
LAZY(unsigned, avcodec_version, (void), ())
LAZY(const char *, avcodec_get_name, (enum AVCodecID id), (id))
LAZY(const AVCodecDescriptor *, avcodec_descriptor_get, (enum AVCodecID id), (id))
LAZY(const AVCodec *, avcodec_find_decoder, (enum AVCodecID id), (id))
LAZY(const AVCodec *, avcodec_find_encoder, (enum AVCodecID id), (id))
LAZY(const AVCodec *, avcodec_find_encoder_by_name, (const char *name), (name))
LAZY(AVCodecContext *, avcodec_alloc_context3, (const AVCodec *codec), (codec))
LAZY_FREE(avcodec_free_context, AVCodecContext)
LAZY(int, avcodec_open2, (AVCodecContext *avctx, const AVCodec *codec, AVDictionary **options), (avctx, codec, options))
LAZY_VOID(avcodec_flush_buffers, (AVCodecContext *avctx), (avctx))
LAZY(int, avcodec_send_frame, (AVCodecContext *avctx, const AVFrame *frame), (avctx, frame))
LAZY(int, avcodec_receive_packet, (AVCodecContext *avctx, AVPacket *avpkt), (avctx, avpkt))
LAZY(int, avcodec_send_packet, (AVCodecContext *avctx, const AVPacket *avpkt), (avctx, avpkt))
LAZY(int, avcodec_receive_frame, (AVCodecContext *avctx, AVFrame *frame), (avctx, frame))
LAZY(unsigned, avcodec_pix_fmt_to_codec_tag, (enum AVPixelFormat pix_fmt), (pix_fmt))
LAZY(AVCodecParameters *, avcodec_parameters_alloc, (void), ())
LAZY_FREE(avcodec_parameters_free, AVCodecParameters)
LAZY(int, avcodec_parameters_copy, (AVCodecParameters *dst, const AVCodecParameters *src), (dst, src))
LAZY(int, avcodec_parameters_from_context, (AVCodecParameters *par, const AVCodecContext *codec), (par, codec))
LAZY(int, avcodec_parameters_to_context, (AVCodecContext *codec, const AVCodecParameters *par), (codec, par))

/* libavformat */
LAZY(unsigned, avformat_version, (void), ())
LAZY(int, avformat_network_init, (void), ())
LAZY(int, avformat_network_deinit, (void), ())
LAZY(AVFormatContext *, avformat_alloc_context, (void), ())
void avformat_free_context(AVFormatContext *s)
{
	if (!s)
		return;
	BIND(avformat_free_context)
	f(s);
}
LAZY(int, avformat_alloc_output_context2,
     (AVFormatContext **ctx, const AVOutputFormat *oformat, const char *format_name, const char *filename),
     (ctx, oformat, format_name, filename))
LAZY(AVStream *, avformat_new_stream, (AVFormatContext *s, const AVCodec *c), (s, c))
LAZY(int, avformat_write_header, (AVFormatContext *s, AVDictionary **options), (s, options))
LAZY(int, av_write_frame, (AVFormatContext *s, AVPacket *pkt), (s, pkt))
LAZY(int, av_interleaved_write_frame, (AVFormatContext *s, AVPacket *pkt), (s, pkt))
LAZY(int, av_write_trailer, (AVFormatContext *s), (s))
LAZY(int, avformat_open_input, (AVFormatContext **ps, const char *url, const AVInputFormat *fmt, AVDictionary **options),
     (ps, url, fmt, options))
LAZY(int, avformat_find_stream_info, (AVFormatContext *ic, AVDictionary **options), (ic, options))
LAZY(int, av_find_best_stream,
     (AVFormatContext *ic, enum AVMediaType type, int wanted_stream_nb, int related_stream, const AVCodec **decoder_ret,
      int flags),
     (ic, type, wanted_stream_nb, related_stream, decoder_ret, flags))
LAZY(int, av_read_frame, (AVFormatContext *s, AVPacket *pkt), (s, pkt))
LAZY(int, av_seek_frame, (AVFormatContext *s, int stream_index, int64_t timestamp, int flags),
     (s, stream_index, timestamp, flags))
LAZY_FREE(avformat_close_input, AVFormatContext)
LAZY(int, avio_open, (AVIOContext **s, const char *url, int flags), (s, url, flags))
LAZY(int, avio_open2,
     (AVIOContext **s, const char *url, int flags, const AVIOInterruptCB *int_cb, AVDictionary **options),
     (s, url, flags, int_cb, options))
LAZY(int, avio_closep, (AVIOContext **s), (s))
