/* libavcodec and libavformat, opened on first use (lazy.h says why and
 * how). libavformat's DT_NEEDED brings libavcodec. libavutil and
 * libswscale (image conversion on the live path, about 2.5 MiB) stay
 * linked. */
#include "base/lazy.h"

#include <libavcodec/avcodec.h>
#include <libavcodec/bsf.h>
#include <libavformat/avformat.h>

struct cr_lazy cr_lazy_libav = {
	.name = "FFmpeg's libraries",
	.soname = "libavformat.so." AV_STRINGIFY(LIBAVFORMAT_VERSION_MAJOR),
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

/* libavcodec: packets */
CR_LAZY(cr_lazy_libav, AVPacket *, av_packet_alloc, (void), ())
CR_LAZY(cr_lazy_libav, AVPacket *, av_packet_clone, (const AVPacket *src), (src))
CR_LAZY_FREEP(cr_lazy_libav, av_packet_free, AVPacket)
CR_LAZY(cr_lazy_libav, int, av_packet_ref, (AVPacket *dst, const AVPacket *src), (dst, src))
CR_LAZY_VOID(cr_lazy_libav, av_packet_unref, (AVPacket *pkt), (pkt))
CR_LAZY_VOID(cr_lazy_libav, av_packet_move_ref, (AVPacket *dst, AVPacket *src), (dst, src))
CR_LAZY_VOID(cr_lazy_libav, av_packet_rescale_ts, (AVPacket *pkt, AVRational tb_src, AVRational tb_dst), (pkt, tb_src, tb_dst))
CR_LAZY(cr_lazy_libav, int, av_new_packet, (AVPacket *pkt, int size), (pkt, size))

/* libavcodec: bitstream filters */
CR_LAZY(cr_lazy_libav, const AVBitStreamFilter *, av_bsf_get_by_name, (const char *name), (name))
CR_LAZY(cr_lazy_libav, int, av_bsf_alloc, (const AVBitStreamFilter *filter, AVBSFContext **ctx), (filter, ctx))
CR_LAZY(cr_lazy_libav, int, av_bsf_init, (AVBSFContext *ctx), (ctx))
CR_LAZY_FREEP(cr_lazy_libav, av_bsf_free, AVBSFContext)

/* libavcodec: codecs */
CR_LAZY(cr_lazy_libav, unsigned, avcodec_version, (void), ())
CR_LAZY(cr_lazy_libav, const char *, avcodec_get_name, (enum AVCodecID id), (id))
CR_LAZY(cr_lazy_libav, const AVCodecDescriptor *, avcodec_descriptor_get, (enum AVCodecID id), (id))
CR_LAZY(cr_lazy_libav, const AVCodec *, avcodec_find_decoder, (enum AVCodecID id), (id))
CR_LAZY(cr_lazy_libav, const AVCodec *, avcodec_find_encoder, (enum AVCodecID id), (id))
CR_LAZY(cr_lazy_libav, const AVCodec *, avcodec_find_encoder_by_name, (const char *name), (name))
CR_LAZY(cr_lazy_libav, AVCodecContext *, avcodec_alloc_context3, (const AVCodec *codec), (codec))
CR_LAZY_FREEP(cr_lazy_libav, avcodec_free_context, AVCodecContext)
CR_LAZY(cr_lazy_libav, int, avcodec_open2, (AVCodecContext *avctx, const AVCodec *codec, AVDictionary **options), (avctx, codec, options))
CR_LAZY_VOID(cr_lazy_libav, avcodec_flush_buffers, (AVCodecContext *avctx), (avctx))
CR_LAZY(cr_lazy_libav, int, avcodec_send_frame, (AVCodecContext *avctx, const AVFrame *frame), (avctx, frame))
CR_LAZY(cr_lazy_libav, int, avcodec_receive_packet, (AVCodecContext *avctx, AVPacket *avpkt), (avctx, avpkt))
CR_LAZY(cr_lazy_libav, int, avcodec_send_packet, (AVCodecContext *avctx, const AVPacket *avpkt), (avctx, avpkt))
CR_LAZY(cr_lazy_libav, int, avcodec_receive_frame, (AVCodecContext *avctx, AVFrame *frame), (avctx, frame))
CR_LAZY(cr_lazy_libav, unsigned, avcodec_pix_fmt_to_codec_tag, (enum AVPixelFormat pix_fmt), (pix_fmt))
CR_LAZY(cr_lazy_libav, AVCodecParameters *, avcodec_parameters_alloc, (void), ())
CR_LAZY_FREEP(cr_lazy_libav, avcodec_parameters_free, AVCodecParameters)
CR_LAZY(cr_lazy_libav, int, avcodec_parameters_copy, (AVCodecParameters *dst, const AVCodecParameters *src), (dst, src))
CR_LAZY(cr_lazy_libav, int, avcodec_parameters_from_context, (AVCodecParameters *par, const AVCodecContext *codec), (par, codec))
CR_LAZY(cr_lazy_libav, int, avcodec_parameters_to_context, (AVCodecContext *codec, const AVCodecParameters *par), (codec, par))

/* libavformat */
CR_LAZY(cr_lazy_libav, unsigned, avformat_version, (void), ())
CR_LAZY(cr_lazy_libav, int, avformat_network_init, (void), ())
CR_LAZY(cr_lazy_libav, int, avformat_network_deinit, (void), ())
CR_LAZY(cr_lazy_libav, AVFormatContext *, avformat_alloc_context, (void), ())
CR_LAZY_FREE(cr_lazy_libav, avformat_free_context, AVFormatContext)
CR_LAZY(cr_lazy_libav, int, avformat_alloc_output_context2,
     (AVFormatContext **ctx, const AVOutputFormat *oformat, const char *format_name, const char *filename),
     (ctx, oformat, format_name, filename))
CR_LAZY(cr_lazy_libav, AVStream *, avformat_new_stream, (AVFormatContext *s, const AVCodec *c), (s, c))
CR_LAZY(cr_lazy_libav, int, avformat_write_header, (AVFormatContext *s, AVDictionary **options), (s, options))
CR_LAZY(cr_lazy_libav, int, av_write_frame, (AVFormatContext *s, AVPacket *pkt), (s, pkt))
CR_LAZY(cr_lazy_libav, int, av_interleaved_write_frame, (AVFormatContext *s, AVPacket *pkt), (s, pkt))
CR_LAZY(cr_lazy_libav, int, av_write_trailer, (AVFormatContext *s), (s))
CR_LAZY(cr_lazy_libav, int, avformat_open_input, (AVFormatContext **ps, const char *url, const AVInputFormat *fmt, AVDictionary **options),
     (ps, url, fmt, options))
CR_LAZY(cr_lazy_libav, int, avformat_find_stream_info, (AVFormatContext *ic, AVDictionary **options), (ic, options))
CR_LAZY(cr_lazy_libav, int, av_find_best_stream,
     (AVFormatContext *ic, enum AVMediaType type, int wanted_stream_nb, int related_stream, const AVCodec **decoder_ret,
      int flags),
     (ic, type, wanted_stream_nb, related_stream, decoder_ret, flags))
CR_LAZY(cr_lazy_libav, int, av_read_frame, (AVFormatContext *s, AVPacket *pkt), (s, pkt))
CR_LAZY(cr_lazy_libav, int, av_seek_frame, (AVFormatContext *s, int stream_index, int64_t timestamp, int flags),
     (s, stream_index, timestamp, flags))
CR_LAZY_FREEP(cr_lazy_libav, avformat_close_input, AVFormatContext)
CR_LAZY(cr_lazy_libav, int, avio_open, (AVIOContext **s, const char *url, int flags), (s, url, flags))
CR_LAZY(cr_lazy_libav, int, avio_open2,
     (AVIOContext **s, const char *url, int flags, const AVIOInterruptCB *int_cb, AVDictionary **options),
     (s, url, flags, int_cb, options))
CR_LAZY(cr_lazy_libav, int, avio_closep, (AVIOContext **s), (s))
