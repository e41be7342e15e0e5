/* libcamera source ("libcamera", "libcamera:INDEX", "libcamera:ID"): the thin
 * C++ adapter between libcamera's camera API and camrig's source ops. Only
 * this module (and OpenCV's adapter) is C++; it speaks camrig's C interfaces
 * and owns nothing camrig's C code has to know about. It is built as the
 * module camrig-libcamera.so (libcamera_module.h: its one exported table),
 * which libcamera.c loads when camrig first needs libcamera.
 *
 * open() picks the camera, acquires it, asks for one stream (role
 * VideoRecording, or Raw when the configured format is a raw sensor format),
 * sets pixel format, size and buffer count and lets the pipeline validate()
 * them (an adjustment is a warning naming what was chosen, an invalid
 * request an error naming what the camera offers), allocates the buffers
 * (FrameBufferAllocator), maps their dmabufs once, and starts the camera
 * with the configured controls and the frame rate as FrameDurationLimits.
 *
 * Zero-copy: every completed request is handed to the camera thread through
 * a queue and an eventfd (libcamera completes requests on its own thread).
 * read() wraps the request's mapped planes in the pooled frame
 * (cr_frame_wrap()); the frame's last unref — on whichever consumer's thread —
 * queues the request to libcamera again. So that capture never waits on a
 * consumer, at least half the requests always stay with libcamera: when
 * consumers hold the rest, read() copies the frame into the pool's memory and
 * queues the request again at once (counted, logged at close). A NULL frame
 * (the pool exhausted) gives the request straight back.
 *
 * Time: a frame's mono_ns is the request's SensorTimestamp (or the buffer's
 * timestamp): the time the sensor started the frame, taken by the kernel's
 * CSI-2 receiver driver as the V4L2 buffer timestamp, which is
 * CLOCK_MONOTONIC on every driver libcamera supports (libcamera's control
 * documentation says CLOCK_BOOTTIME; the two differ only after a suspend).
 * A timestamp more than a second ahead of CLOCK_MONOTONIC but within a second
 * of CLOCK_BOOTTIME is taken as BOOTTIME and mapped to MONOTONIC, so mono_ns
 * is always CLOCK_MONOTONIC, as the sidecar and LSL need. UTC follows from the
 * camera thread's offset. The sequence number is libcamera's FrameMetadata
 * sequence (the V4L2 one, from 0 at each start): frames the pipeline drops
 * are gaps, as for V4L2.
 *
 * Controls by libcamera's own names and units (ExposureTime µs, AnalogueGain,
 * AeEnable, ScalerCrop x,y,w,h, ...), matched ignoring case and '_' (so
 * exposure_time works too), vendor controls with or without "vendor::".
 * Values are checked against the camera's ControlInfoMap; the configuration's
 * go with start(), live ones with the next request queued.
 *
 * libcamera versions: Debian bookworm's 0.0.3 and Raspberry Pi OS's newer
 * ones (0.4+); the differences used here are guarded by LIBCAMERA_VERSION_*:
 * generateConfiguration() takes a vector (0.0.x) or a span (0.1+), enum
 * controls have names (ControlId::enumerators(), 0.4+), array controls say so
 * (ControlId::isArray(), 0.4+), cameras list their device nodes
 * (properties::SystemDevices, 0.1+), R16 exists (0.1+).
 *
 * Threads: open/read/close on the camera thread; set_control on any thread
 * while open (under the session's lock); frame releases on any thread. The
 * session (camera, buffers, mappings) is refcounted: close() stops the camera
 * and drops its reference, and frames still held by consumers keep the
 * mappings valid until their last unref. One CameraManager per process
 * (libcamera allows no more), refcounted by its users.
 *
 * Reference: libcamera's include/libcamera/{camera,camera_manager,request,
 * framebuffer,framebuffer_allocator,controls,stream}.h and control_ids.yaml;
 * linux/dma-buf.h for DMA_BUF_IOCTL_SYNC. */
#include "source/libcamera_internal.h"
#include "source/libcamera_module.h"
#include "source/media.h"
#include "source/source.h"

#include "base/error.h"
#include "base/fourcc.h"
#include "base/log.h"
#include "base/time.h"

#include <libcamera/libcamera.h>
#include <libcamera/version.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <fcntl.h>
#include <strings.h>
#include <linux/dma-buf.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

namespace cr_lc {

namespace {

/* read() reports the camera as lost after no frame for this long (ns), or
 * ten frame intervals when that is longer. */
constexpr int64_t STALL_TIMEOUT_NS = 5 * CR_NS_PER_SEC;
/* Requests asked for when the configuration says fewer. */
constexpr unsigned MIN_REQUESTS = 4;

/* ---- the session -------------------------------------------------------------
 * One configured, streaming camera: what frames out in the pipeline point
 * into. Refcounted: the source holds one reference while open, each wrapped
 * frame one. */
struct mapping {
	uint8_t *plane[CR_MAX_PLANES];
	size_t length[CR_MAX_PLANES];   /* bytes of each plane */
	int fd[CR_MAX_PLANES];          /* the plane's dmabuf (not owned) */
	int nplanes;
	std::vector<std::pair<void *, size_t>> maps; /* what to munmap */
};

struct session;

struct slot {
	session *s;
	Request *request;
	unsigned index;
};

struct session {
	std::atomic<int> refs{ 1 };
	CameraManager *cm = nullptr;
	std::shared_ptr<Camera> camera;
	bool acquired = false;
	std::unique_ptr<CameraConfiguration> config;
	Stream *stream = nullptr;
	std::unique_ptr<FrameBufferAllocator> allocator;
	std::vector<std::unique_ptr<Request>> requests;
	std::vector<mapping> maps;       /* by request index */
	std::vector<slot> slots;         /* by request index */
	std::string name;                /* for messages: "libcamera:0 (Sensor B)" */

	std::mutex lock;                 /* guards what follows */
	int event_fd = -1;               /* readable: completed is not empty, or lost */
	std::deque<Request *> completed;
	bool streaming = false;
	bool lost = false;
	unsigned queued = 0;             /* requests with libcamera */
	std::unique_ptr<ControlList> pending; /* live controls for the next request */
	/* Each control's latest known value, by id, for list_controls: as set
	 * (the configuration's, live ones), then as the last completed
	 * request's metadata reports it (what the pipeline applied). */
	std::map<unsigned int, ControlValue> known;

	/* Notes the values of list as known. Under lock. */
	void note(const ControlList &list)
	{
		for (const auto &v : list)
			known[v.first] = v.second;
	}

	~session()
	{
		for (mapping &m : maps)
			for (auto &p : m.maps)
				munmap(p.first, p.second);
		requests.clear();
		if (allocator && stream)
			allocator->free(stream);
		allocator.reset();
		config.reset();
		if (camera && acquired)
			camera->release();
		camera.reset();
		if (event_fd >= 0)
			close(event_fd);
		if (cm)
			manager_put();
	}

	void ref() { refs.fetch_add(1, std::memory_order_relaxed); }

	void unref()
	{
		if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1)
			delete this;
	}

	void wake()
	{
		uint64_t one = 1;

		(void)!write(event_fd, &one, sizeof(one));
	}

	/* libcamera's thread: a request is done (or cancelled by stop()). */
	void on_completed(Request *request)
	{
		std::lock_guard<std::mutex> guard(lock);

		if (queued > 0)
			queued--;
		completed.push_back(request);
		wake();
	}

	void on_disconnected()
	{
		std::lock_guard<std::mutex> guard(lock);

		lost = true;
		wake();
	}

	/* Gives request back to libcamera with the pending live controls, if
	 * still streaming. Any thread. */
	void requeue(Request *request)
	{
		std::unique_lock<std::mutex> guard(lock);

		if (!streaming)
			return;
		request->reuse(Request::ReuseBuffers);
		if (pending) {
			request->controls().merge(*pending);
			pending.reset();
		}
		queued++;
		guard.unlock();
		int ret = camera->queueRequest(request);
		if (ret < 0) {
			guard.lock();
			queued--;
			cr_debug("%s: cannot queue a request: %s", name.c_str(), cr_strerror(ret));
		}
	}
};

void sync_planes(const mapping &m, uint64_t flags)
{
	for (int p = 0; p < m.nplanes; p++) {
		struct dma_buf_sync sync = { flags | DMA_BUF_SYNC_READ };

		if (p > 0 && m.fd[p] == m.fd[p - 1])
			continue;
		(void)ioctl(m.fd[p], DMA_BUF_IOCTL_SYNC, &sync);
	}
}

/* A wrapped frame's last unref (any thread). */
void release_slot(void *opaque)
{
	slot *sl = static_cast<slot *>(opaque);
	session *s = sl->s;

	sync_planes(s->maps[sl->index], DMA_BUF_SYNC_END);
	s->requeue(sl->request);
	s->unref();
}

/* Maps every plane of buffer once per dmabuf (planes of one buffer often
 * share a dmabuf at different offsets). Returns 0 or -errno. */
int map_buffer(const FrameBuffer *buffer, mapping *m)
{
	const std::vector<FrameBuffer::Plane> &planes = buffer->planes();
	std::map<int, std::pair<uint8_t *, size_t>> by_fd;

	m->nplanes = (int)std::min<size_t>(planes.size(), CR_MAX_PLANES);
	for (int p = 0; p < m->nplanes; p++) {
		int fd = planes[p].fd.get();
		size_t end = (size_t)planes[p].offset + planes[p].length;

		if (planes[p].offset == FrameBuffer::Plane::kInvalidOffset)
			return -EINVAL;
		auto it = by_fd.find(fd);
		if (it == by_fd.end() || it->second.second < end)
			by_fd[fd] = { nullptr, std::max(end, it == by_fd.end() ? 0 : it->second.second) };
	}
	for (auto &entry : by_fd) {
		void *addr = mmap(nullptr, entry.second.second, PROT_READ, MAP_SHARED, entry.first, 0);

		if (addr == MAP_FAILED)
			return -errno;
		entry.second.first = static_cast<uint8_t *>(addr);
		m->maps.push_back({ addr, entry.second.second });
	}
	for (int p = 0; p < m->nplanes; p++) {
		m->fd[p] = planes[p].fd.get();
		m->plane[p] = by_fd[m->fd[p]].first + planes[p].offset;
		m->length[p] = planes[p].length;
	}
	return 0;
}

/* ---- the source ------------------------------------------------------------ */

struct priv {
	session *s = nullptr;            /* NULL while closed */
	int timeout_ms = 0;
	unsigned min_queued = 2;         /* requests kept with libcamera; below: copy */
	struct cr_plane_layout layout {};
	bool compressed = false;
	/* counters since open(), logged by close() */
	uint64_t delivered = 0, copied = 0, skipped = 0, boottime = 0;
};

/* Maps a frame timestamp (ns) to CLOCK_MONOTONIC, see the design comment. */
int64_t to_monotonic(int64_t ts, uint64_t *boottime)
{
	struct timespec mono, boot;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	if (ts <= cr_time_from_ts(&mono) + CR_NS_PER_SEC)
		return ts;
	clock_gettime(CLOCK_BOOTTIME, &boot);
	int64_t offset = cr_time_from_ts(&boot) - cr_time_from_ts(&mono);
	if (std::llabs(ts - cr_time_from_ts(&boot)) < CR_NS_PER_SEC) {
		(*boottime)++;
		return ts - offset;
	}
	return ts;
}

int lc_apply_controls(session *s, const struct cr_control_setting *settings, unsigned n, ControlList *list)
{
	const ControlInfoMap &map = s->camera->controls();

	for (unsigned i = 0; i < n; i++) {
		std::string names, why, where = s->name + ": control";
		ControlValue value;

		if (settings[i].line > 0)
			where += strprintf(" (config line %d)", settings[i].line);
		auto it = find_control(map, settings[i].name, &names);
		if (it == map.end())
			return cr_log_ret(-ENOENT, CR_LOG_ERROR, "%s \"%s\": no such control (the camera has: %s)",
					  where.c_str(), settings[i].name, names.empty() ? "no controls" : names.c_str());
		if (parse_control(it->first, it->second, settings[i].value, &value, &why) < 0)
			return cr_log_ret(-EINVAL, CR_LOG_ERROR, "%s \"%s\": bad value \"%s\" (%s)", where.c_str(),
					  it->first->name().c_str(), settings[i].value, why.c_str());
		list->set(it->first->id(), value);
		cr_info("%s: %s = %s", s->name.c_str(), it->first->name().c_str(), value.toString().c_str());
	}
	return 0;
}

/* The formats and sizes a stream configuration offers, for messages. */
std::string offered(const StreamConfiguration &cfg)
{
	std::string list;

	for (const PixelFormat &f : cfg.formats().pixelformats()) {
		SizeRange r = cfg.formats().range(f);

		list_add(list, format_name(f) + " " + r.min.toString() + ".." + r.max.toString());
	}
	return list.empty() ? "nothing" : list;
}

/* Picks the pixel format: the configured one, else the stream's default
 * when camrig can use it, else the first camrig prefers that it offers.
 * Returns 0 or CR_EFORMAT after logging. */
int choose_format(session *s, const struct cr_camera_config *cfg, StreamConfiguration &sc)
{
	std::vector<PixelFormat> offers = sc.formats().pixelformats();
	char fs[5];

	if (cfg->format) {
		const format_map *m = map_of_fourcc(cfg->format == CR_FMT_JPEG ? CR_FMT_MJPEG : cfg->format);

		if (!m)
			return cr_log_ret(CR_EFORMAT, CR_LOG_ERROR, "%s: camrig cannot use format %s with libcamera "
					  "(the camera offers: %s)", s->name.c_str(), cr_fourcc_str(cfg->format, fs),
					  offered(sc).c_str());
		if (std::find(offers.begin(), offers.end(), m->format) == offers.end())
			return cr_log_ret(CR_EFORMAT, CR_LOG_ERROR, "%s: format %s is not offered (the camera offers: %s)",
					  s->name.c_str(), format_name(m->format).c_str(), offered(sc).c_str());
		sc.pixelFormat = m->format;
		return 0;
	}
	const format_map *own = map_of_format(sc.pixelFormat);
	if (own && cr_fourcc_is_supported(own->fourcc))
		return 0;
	for (int k = 0; cr_fourcc_supported[k]; k++) {
		const format_map *m = map_of_fourcc(cr_fourcc_supported[k]);

		if (m && std::find(offers.begin(), offers.end(), m->format) != offers.end()) {
			sc.pixelFormat = m->format;
			return 0;
		}
	}
	return cr_log_ret(CR_EFORMAT, CR_LOG_ERROR, "%s: offers no format camrig can use (it offers: %s)",
			  s->name.c_str(), offered(sc).c_str());
}

void lc_close(struct cr_source *src);

int lc_open(struct cr_source *src)
{
	const struct cr_camera_config *cfg = src->config;
	struct cr_source_format *out = &src->format;
	priv *p = static_cast<priv *>(src->priv);
	std::string known, loc = src->location ? src->location : "";
	char fs[5];
	int ret = 0;

	if (!p) {
		p = new priv;
		src->priv = p;
	}
	lc_close(src);
	*p = priv();
	session *s = new session;
	s->name = "libcamera" + (loc.empty() ? std::string() : ":" + loc);
	s->cm = manager_get(&ret);
	if (!s->cm) {
		cr_err("%s: libcamera's camera manager does not start: %s", s->name.c_str(), cr_strerror(ret));
		s->unref();
		return ret;
	}
	s->camera = find_camera(s->cm, loc, &known);
	if (!s->camera) {
		cr_err("%s: no such camera (libcamera has: %s; `camrig list` shows them)", s->name.c_str(),
		       known.empty() ? "no cameras" : known.c_str());
		s->unref();
		return -ENODEV;
	}
	s->name = "libcamera:" + s->camera->id();
	ret = s->camera->acquire();
	if (ret < 0) {
		cr_err("%s: cannot acquire the camera: %s", s->name.c_str(),
		       ret == -EBUSY ? "another program is using it" : cr_strerror(ret));
		s->unref();
		return ret;
	}
	s->acquired = true;

	/* The stream: role, format, size, buffers; then what the pipeline makes of it. */
	const format_map *asked = cfg->format ? map_of_fourcc(cfg->format) : nullptr;
	s->config = generate(*s->camera, asked && asked->raw ? StreamRole::Raw : StreamRole::VideoRecording);
	if (!s->config || s->config->empty()) {
		cr_err("%s: the camera offers no %s stream", s->name.c_str(), asked && asked->raw ? "raw" : "video");
		s->unref();
		return -ENODEV;
	}
	StreamConfiguration &sc = s->config->at(0);
	if ((ret = choose_format(s, cfg, sc)) < 0) {
		s->unref();
		return ret;
	}
	PixelFormat want_format = sc.pixelFormat;
	if (cfg->width > 0 && cfg->height > 0)
		sc.size = Size((unsigned)cfg->width, (unsigned)cfg->height);
	sc.bufferCount = std::max({ sc.bufferCount, cfg->buffers, MIN_REQUESTS });
	switch (s->config->validate()) {
	case CameraConfiguration::Invalid:
		cr_err("%s: the camera cannot deliver %s %ux%u (it offers: %s)", s->name.c_str(),
		       format_name(want_format).c_str(), sc.size.width, sc.size.height, offered(sc).c_str());
		s->unref();
		return CR_EFORMAT;
	case CameraConfiguration::Adjusted:
		if (sc.pixelFormat != want_format)
			cr_warn("%s: asked for %s, the camera chose %s", s->name.c_str(), format_name(want_format).c_str(),
				format_name(sc.pixelFormat).c_str());
		if (cfg->width > 0 && cfg->height > 0 && sc.size != Size((unsigned)cfg->width, (unsigned)cfg->height))
			cr_warn("%s: asked for %dx%d, the camera chose %s", s->name.c_str(), cfg->width, cfg->height,
				sc.size.toString().c_str());
		break;
	default:
		break;
	}
	const format_map *m = map_of_format(sc.pixelFormat);
	if (!m) {
		cr_err("%s: the camera chose format %s, which camrig cannot use", s->name.c_str(),
		       sc.pixelFormat.toString().c_str());
		s->unref();
		return CR_EFORMAT;
	}
	ret = s->camera->configure(s->config.get());
	if (ret < 0) {
		cr_err("%s: cannot configure %s %s: %s", s->name.c_str(), format_name(sc.pixelFormat).c_str(),
		       sc.size.toString().c_str(), cr_strerror(ret));
		s->unref();
		return ret;
	}
	s->stream = sc.stream();

	memset(out, 0, sizeof(*out));
	out->fourcc = m->fourcc;
	out->width = (int)sc.size.width;
	out->height = (int)sc.size.height;
	p->compressed = cr_fourcc_is_compressed(out->fourcc);
	if (!p->compressed) {
		ret = cr_fourcc_layout(out->fourcc, out->width, out->height, (int)sc.stride, &p->layout);
		if (ret < 0) {
			cr_err("%s: camrig cannot lay out %dx%d %s frames yet", s->name.c_str(), out->width, out->height,
			       cr_fourcc_str(out->fourcc, fs));
			s->unref();
			return CR_EFORMAT;
		}
		out->stride = p->layout.stride[0];
		out->frame_bytes = p->layout.size;
	}
	out->frame_bytes = std::max<size_t>(out->frame_bytes, sc.frameSize);
	if (out->frame_bytes == 0)
		out->frame_bytes = (size_t)out->width * (size_t)out->height * 2;
	snprintf(out->device, sizeof(out->device), "libcamera:%s", s->camera->id().c_str());
	snprintf(out->driver, sizeof(out->driver), "libcamera %s", camera_model(*s->camera).c_str());

	/* Buffers, requests, mappings. */
	s->allocator = std::make_unique<FrameBufferAllocator>(s->camera);
	ret = s->allocator->allocate(s->stream);
	if (ret <= 0) {
		cr_err("%s: cannot allocate buffers: %s", s->name.c_str(), cr_strerror(ret < 0 ? ret : -ENOMEM));
		s->unref();
		return ret < 0 ? ret : -ENOMEM;
	}
	const std::vector<std::unique_ptr<FrameBuffer>> &buffers = s->allocator->buffers(s->stream);
	s->maps.resize(buffers.size());
	s->slots.resize(buffers.size());
	for (unsigned i = 0; i < buffers.size(); i++) {
		std::unique_ptr<Request> request = s->camera->createRequest(i);

		if (!request || request->addBuffer(s->stream, buffers[i].get()) < 0 ||
		    (ret = map_buffer(buffers[i].get(), &s->maps[i])) < 0) {
			ret = ret < 0 ? ret : -ENOMEM;
			cr_err("%s: cannot set up request %u: %s", s->name.c_str(), i, cr_strerror(ret));
			s->unref();
			return ret;
		}
		s->slots[i] = { s, request.get(), i };
		s->requests.push_back(std::move(request));
	}
	p->min_queued = std::max<unsigned>(1, (unsigned)(s->requests.size() + 1) / 2);

	/* Controls: the frame rate first, so a FrameDurationLimits of the
	 * configuration's overrides it. */
	ControlList start(s->camera->controls());
	const ControlInfoMap &cmap = s->camera->controls();
	auto fdl = cmap.find(&controls::FrameDurationLimits);
	if (cfg->fps > 0 && fdl != cmap.end()) {
		int64_t us = llround(1e6 / cfg->fps);
		const ControlInfo &info = fdl->second;

		if (info.min().type() == ControlTypeInteger64 && info.max().type() == ControlTypeInteger64 &&
		    (us < info.min().get<int64_t>() || us > info.max().get<int64_t>())) {
			cr_err("%s: %g fps is out of range (expected %.6g..%.6g fps)", s->name.c_str(), cfg->fps,
			       1e6 / (double)info.max().get<int64_t>(), 1e6 / (double)info.min().get<int64_t>());
			s->unref();
			return -EINVAL;
		}
		int64_t limits[2] = { us, us };
		start.set(controls::FrameDurationLimits, Span<const int64_t, 2>(limits));
		out->fps = cfg->fps;
	} else if (cfg->fps > 0) {
		cr_warn("%s: the camera cannot set the frame rate (no FrameDurationLimits); %g fps ignored",
			s->name.c_str(), cfg->fps);
	}
	if ((ret = lc_apply_controls(s, cfg->controls, cfg->ncontrols, &start)) < 0) {
		s->unref();
		return ret;
	}

	s->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->event_fd < 0) {
		ret = -errno;
		s->unref();
		return cr_log_ret(ret, CR_LOG_ERROR, "%s: eventfd: %s", s->name.c_str(), cr_strerror(ret));
	}
	s->camera->requestCompleted.connect(s, &session::on_completed);
	s->camera->disconnected.connect(s, &session::on_disconnected);
	ret = s->camera->start(&start);
	if (ret < 0) {
		cr_err("%s: cannot start the camera: %s", s->name.c_str(), cr_strerror(ret));
		s->camera->requestCompleted.disconnect(s);
		s->camera->disconnected.disconnect(s);
		s->unref();
		return ret;
	}
	s->streaming = true;
	p->s = s;
	/* The same controls go with the first request too: some pipelines
	 * (vimc) ignore those given to start(). */
	if (!start.empty()) {
		s->pending = std::make_unique<ControlList>(start);
		std::lock_guard<std::mutex> guard(s->lock);
		s->note(start);
	}
	for (auto &request : s->requests)
		s->requeue(request.get());

	p->timeout_ms = (int)(STALL_TIMEOUT_NS / CR_NS_PER_MS);
	if (out->fps > 0 && 10000.0 / out->fps > p->timeout_ms)
		p->timeout_ms = (int)(10000.0 / out->fps);
	cr_info("%s (%s): %dx%d %s, %d bytes per line, %s fps, %zu requests (libcamera %s)", s->name.c_str(),
		camera_model(*s->camera).c_str(), out->width, out->height, format_name(sc.pixelFormat).c_str(),
		out->stride, out->fps > 0 ? strprintf("%g", out->fps).c_str() : "the camera's", s->requests.size(),
		CameraManager::version().c_str());
	return 0;
}

void lc_close(struct cr_source *src)
{
	priv *p = static_cast<priv *>(src->priv);

	if (!p || !p->s)
		return;
	session *s = p->s;
	p->s = nullptr;
	{
		std::lock_guard<std::mutex> guard(s->lock);
		s->streaming = false;
	}
	s->camera->stop();
	s->camera->requestCompleted.disconnect(s);
	s->camera->disconnected.disconnect(s);
	if (p->delivered || p->skipped)
		cr_info("%s: closed after %" PRIu64 " frames (%" PRIu64 " copied because consumers held the other "
			"buffers, %" PRIu64 " failed or cancelled, %" PRIu64 " timestamps on CLOCK_BOOTTIME)",
			s->name.c_str(), p->delivered, p->copied, p->skipped, p->boottime);
	s->unref();
}

/* Fills frame from request: wrapped (zero-copy) or copied, see the design
 * comment. Returns 0, or -EAGAIN when the frame was not usable (skipped). */
int deliver(struct cr_source *src, priv *p, Request *request, struct cr_frame *frame)
{
	session *s = p->s;
	const struct cr_source_format *f = &src->format;
	FrameBuffer *buffer = request->findBuffer(s->stream);
	unsigned index = (unsigned)request->cookie();
	const mapping &m = s->maps[index];
	unsigned queued;

	if (!buffer || buffer->metadata().status != FrameMetadata::FrameSuccess) {
		p->skipped++;
		s->requeue(request);
		return -EAGAIN;
	}
	const FrameMetadata &md = buffer->metadata();
	size_t used = md.planes().size() > 0 ? md.planes()[0].bytesused : m.length[0];
	if (p->compressed && (used < 2 || m.plane[0][0] != 0xff || m.plane[0][1] != 0xd8)) {
		p->skipped++;
		s->requeue(request);
		return -EAGAIN;
	}
	if (!frame) {
		p->delivered++;
		s->requeue(request);
		return 0;
	}
	std::optional<int64_t> ts = request->metadata().get(controls::SensorTimestamp);
	frame->mono_ns = to_monotonic(ts ? *ts : (int64_t)md.timestamp, &p->boottime);
	frame->sequence = md.sequence;
	{
		std::lock_guard<std::mutex> guard(s->lock);
		queued = s->queued;
		s->note(request->metadata());
	}
	sync_planes(m, DMA_BUF_SYNC_START);
	if (queued >= p->min_queued) {
		/* Zero-copy: the frame points into the buffer until its last unref. */
		s->ref();
		cr_frame_wrap(frame, m.plane[0], p->compressed ? m.length[0] : std::max(m.length[0], p->layout.size),
			      release_slot, &s->slots[index]);
		frame->fourcc = f->fourcc;
		frame->width = f->width;
		frame->height = f->height;
		if (p->compressed) {
			frame->nplanes = 0;
			frame->size = used;
		} else {
			frame->nplanes = p->layout.nplanes;
			for (int k = 0; k < p->layout.nplanes; k++) {
				/* Planes in their own places when the buffer has them so, else by the layout. */
				frame->plane[k] = k < m.nplanes ? m.plane[k] : m.plane[0] + p->layout.offset[k];
				frame->stride[k] = p->layout.stride[k];
			}
			frame->size = p->layout.size;
		}
		p->delivered++;
		return 0;
	}
	/* Consumers hold the other buffers: copy, and give this one back now. */
	int ret = cr_frame_set_format(frame, f->fourcc, f->width, f->height, f->stride);
	if (ret == 0 && p->compressed) {
		if (used > frame->capacity)
			ret = -ENOSPC;
		else
			memcpy(frame->data, m.plane[0], (frame->size = used));
	} else if (ret == 0) {
		for (int k = 0; k < p->layout.nplanes; k++) {
			const uint8_t *from = k < m.nplanes ? m.plane[k] : m.plane[0] + p->layout.offset[k];

			memcpy(frame->plane[k], from, (size_t)p->layout.stride[k] * (size_t)p->layout.height[k]);
		}
	}
	sync_planes(m, DMA_BUF_SYNC_END);
	s->requeue(request);
	if (ret < 0)
		return cr_log_ret(ret, CR_LOG_ERROR, "%s: a %dx%d frame does not fit the frame pool: %s", s->name.c_str(),
				  f->width, f->height, cr_strerror(ret));
	p->copied++;
	p->delivered++;
	return 0;
}

int lc_read(struct cr_source *src, struct cr_frame *frame)
{
	priv *p = static_cast<priv *>(src->priv);

	if (!p || !p->s)
		return -EBADF;
	session *s = p->s;
	for (;;) {
		struct pollfd pfd[2] = { { s->event_fd, POLLIN, 0 }, { src->wake_fd, POLLIN, 0 } };
		Request *request = nullptr;
		uint64_t n;
		int ret = poll(pfd, src->wake_fd >= 0 ? 2 : 1, p->timeout_ms);

		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0)
			return -errno;
		if (src->wake_fd >= 0 && (pfd[1].revents & POLLIN))
			return -EAGAIN;
		if (ret == 0)
			return cr_log_ret(CR_ELOST, CR_LOG_ERROR, "%s: no frame for %d ms: the camera stalled",
					  s->name.c_str(), p->timeout_ms);
		{
			std::lock_guard<std::mutex> guard(s->lock);

			if (s->lost)
				return cr_log_ret(CR_ELOST, CR_LOG_ERROR, "%s: the camera was disconnected", s->name.c_str());
			if (!s->completed.empty()) {
				request = s->completed.front();
				s->completed.pop_front();
			}
			if (s->completed.empty())
				(void)!read(s->event_fd, &n, sizeof(n));
		}
		if (!request)
			continue;
		if (request->status() == Request::RequestCancelled) {
			p->skipped++;
			s->requeue(request);
			continue;
		}
		ret = deliver(src, p, request, frame);
		if (ret == -EAGAIN)
			continue;
		return ret;
	}
}

int lc_set_control(struct cr_source *src, const char *name, const char *value, char *why, size_t len)
{
	priv *p = static_cast<priv *>(src->priv);
	std::string names, reason;
	ControlValue v;

	if (!p || !p->s) {
		snprintf(why, len, "the camera is not open (it is lost)");
		return -ENODEV;
	}
	session *s = p->s;
	const ControlInfoMap &map = s->camera->controls();
	auto it = find_control(map, name, &names);
	if (it == map.end()) {
		snprintf(why, len, "%s: control \"%s\": no such control (the camera has: %s)", s->name.c_str(), name,
			 names.empty() ? "no controls" : names.c_str());
		cr_err("%s", why);
		return -ENOENT;
	}
	if (parse_control(it->first, it->second, value, &v, &reason) < 0) {
		snprintf(why, len, "%s: control \"%s\": bad value \"%s\" (%s)", s->name.c_str(), it->first->name().c_str(),
			 value, reason.c_str());
		cr_err("%s", why);
		return -EINVAL;
	}
	{
		std::lock_guard<std::mutex> guard(s->lock);

		if (!s->pending)
			s->pending = std::make_unique<ControlList>(map);
		s->pending->set(it->first->id(), v);
		s->known[it->first->id()] = v;
	}
	cr_info("%s: %s = %s", s->name.c_str(), it->first->name().c_str(), v.toString().c_str());
	return 0;
}

void lc_free_priv(struct cr_source *src)
{
	lc_close(src);
	delete static_cast<priv *>(src->priv);
	src->priv = nullptr;
}

int lc_list_controls(struct cr_source *src, struct cr_source_control *out, int max, char *why, size_t len)
{
	priv *p = static_cast<priv *>(src->priv);
	std::vector<std::pair<std::string, const std::pair<const ControlId *const, ControlInfo> *>> sorted;
	int n = 0;

	if (!p || !p->s) {
		snprintf(why, len, "the camera is not open (it is lost)");
		return -ENODEV;
	}
	session *s = p->s;
	for (const auto &entry : s->camera->controls())
		sorted.push_back({ entry.first->name(), &entry });
	std::sort(sorted.begin(), sorted.end(), [](const auto &a, const auto &b) { return a.first < b.first; });
	std::lock_guard<std::mutex> guard(s->lock);
	for (const auto &e : sorted) {
		auto it = s->known.find(e.second->first->id());

		if (n < max)
			describe_control(e.second->first, e.second->second, it == s->known.end() ? nullptr : &it->second,
					 &out[n]);
		n++;
	}
	return n;
}

} /* namespace */

const struct cr_source_ops libcamera_ops = {
	.open = lc_open,
	.read = lc_read,
	.close = lc_close,
	.set_control = lc_set_control,
	.stream_stats = nullptr,
	.list_controls = lc_list_controls,
	.free_priv = lc_free_priv,
};

} /* namespace cr_lc */

/* The module's one exported symbol (the build hides every other). */
extern "C" __attribute__((visibility("default"))) const struct cr_libcamera_module cr_libcamera_module = {
	sizeof(struct cr_libcamera_module), &cr_lc::libcamera_ops, cr_lc::lc_version, cr_lc::lc_find_camera, cr_lc::lc_owns,
	cr_lc::lc_list, cr_lc::lc_list_json,
};

