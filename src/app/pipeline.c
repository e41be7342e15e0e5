/* Creates and wires the parts of camrig; the only file that knows how they
 * connect.
 *
 *   camera[i] --fan-out--> jpeg stage[i] --latest image--> HTTP live views
 *
 * Start order: cameras (so a bad device fails before anything listens), JPEG
 * stages, HTTP server. Stop order is the reverse. */
#include "app/pipeline.h"

#include "base/log.h"
#include "base/mem.h"
#include "base/time.h"
#include "encode/jpeg.h"
#include "net/http.h"
#include "source/camera.h"

#include <stdlib.h>

/* Frames in each camera's pool beyond one per JPEG worker: the frame being
 * captured, frames held as pass-through images, and headroom for consumers. */
#define POOL_HEADROOM 8

struct cr_pipeline {
	const struct cr_config *config;
	struct cr_http_context http_ctx;
	struct cr_http_camera *cameras;  /* config->ncameras */
	struct cr_http_server *http;
};

int cr_pipeline_start(const struct cr_config *config, struct cr_pipeline **out)
{
	struct cr_pipeline *p = CR_NEW(p);
	int ret = 0;

	p->config = config;
	p->cameras = cr_calloc(config->ncameras, sizeof(*p->cameras));
	for (unsigned i = 0; i < config->ncameras && ret == 0; i++) {
		const struct cr_camera_config *cc = &config->cameras[i];
		struct cr_http_camera *hc = &p->cameras[i];
		unsigned workers = cc->jpeg.workers > 0 ? (unsigned)cc->jpeg.workers : 4;

		ret = cr_camera_new(cc, (int)i, &hc->camera);
		if (ret == 0)
			ret = cr_camera_start(hc->camera, workers + POOL_HEADROOM);
		if (ret == 0) {
			const struct cr_source_format *f = cr_camera_format(hc->camera);

			cr_info("%s: %s (%s): %dx%d %s at %.3g fps", cc->name, f->device, f->driver, f->width,
				f->height, cr_fourcc_name(f->fourcc), f->fps);
			ret = cr_jpeg_stage_new(hc->camera, &cc->jpeg, &hc->jpeg);
		}
	}
	if (ret == 0) {
		p->http_ctx.config = config;
		p->http_ctx.cameras = p->cameras;
		p->http_ctx.ncameras = config->ncameras;
		p->http_ctx.start_mono_ns = cr_time_mono_ns();
		ret = cr_http_server_new(&p->http_ctx, &p->http);
	}
	if (ret < 0) {
		cr_pipeline_stop(&p);
		return ret;
	}
	*out = p;
	return 0;
}

void cr_pipeline_stop(struct cr_pipeline **pp)
{
	struct cr_pipeline *p = *pp;

	if (!p)
		return;
	*pp = NULL;
	cr_http_server_free(&p->http);
	for (unsigned i = p->config->ncameras; i-- > 0;) {
		struct cr_http_camera *hc = &p->cameras[i];

		if (hc->camera)
			cr_camera_stop(hc->camera);
		cr_jpeg_stage_free(&hc->jpeg);
		cr_camera_free(&hc->camera);
	}
	free(p->cameras);
	free(p);
}
