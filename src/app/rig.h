/* A rig: one camera and every part camrig runs for it. pipeline.c creates,
 * starts and stops the parts (in the order its design comment gives);
 * commands.c acts on them; status.c reads them. */
#ifndef CR_APP_RIG_H
#define CR_APP_RIG_H

#include "config/config.h"

#ifdef __cplusplus
extern "C" {
#endif

struct cr_camera;
struct cr_jpeg_stage;
struct cr_video_encoder;
struct cr_recorder;
struct cr_timelapse;
struct cr_upload;
struct cr_lsl_outlet;
struct cr_tcpstream;
struct cr_analysis;
struct cr_rtsp;

struct cr_rig {
	const struct cr_camera_config *config;
	struct cr_camera *camera;
	struct cr_jpeg_stage *jpeg;
	struct cr_video_encoder *encoder;
	struct cr_recorder *recorder;
	struct cr_timelapse *timelapse;
	struct cr_upload *upload;     /* NULL: upload off */
	struct cr_lsl_outlet *lsl;    /* NULL: no LSL outlet */
	struct cr_lsl_outlet *lsl_markers; /* its marker stream; NULL: none */
	struct cr_tcpstream *tcp;     /* NULL: no raw H.264 stream */
	struct cr_analysis *analysis; /* NULL: no detector enabled */
	struct cr_rtsp *rtsp;         /* NULL: not publishing over RTSP */
	struct cr_rtsp *webrtc;       /* RTP to Janus; NULL: no WebRTC */
	unsigned snapshots;           /* saved so far ({n} of recording.snapshot_filename); control thread */
};

#ifdef __cplusplus
}
#endif

#endif
