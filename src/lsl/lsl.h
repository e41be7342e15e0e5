/* Lab Streaming Layer (LSL) outlet, speaking LSL's network protocol 1.10
 * without liblsl.
 *
 * An outlet is one of two kinds, served by the same code (discovery, queries,
 * feed, counters):
 *  - frames (the default): one sample per captured frame, three double64
 *    channels (frame_number, trigger_time, trigger_type), timestamped with
 *    the frame's capture time, at the camera's nominal rate;
 *  - markers (cr_lsl_stream_info.markers): LSL's convention for events, an
 *    irregular-rate stream (nominal_srate 0) of one "string" channel, type
 *    "Markers"; each sample is one event as a compact JSON object.
 * Timestamps are on LSL's clock (CLOCK_MONOTONIC seconds). Unmodified liblsl
 * inlets (pylsl, LabRecorder, liblsl >= 1.10) discover an outlet over UDP and
 * read it over TCP. doc/lsl-protocol.md describes exactly what is
 * implemented, the byte layouts, and what is refused; it is the specification
 * the code and the tests follow. The protocol itself is liblsl's (sccn/liblsl:
 * src/udp_server.cpp, src/tcp_server.cpp, src/sample.cpp,
 * src/stream_info_impl.cpp, src/api_config.cpp).
 *
 * Triggers (frames outlets): a trigger recorded with cr_lsl_outlet_trigger()
 * belongs to the first frame captured at or after it. That frame's sample
 * carries its code in trigger_type; every other sample has trigger_type 0, so
 * "trigger_type == 2" holds once per ntfy trigger. trigger_time holds the UTC
 * time of the latest trigger at or before the capture on every sample (0
 * before any). Two triggers between two frames: the frame carries the later
 * one (a markers outlet can publish both).
 *
 * Threads: each outlet runs two named threads with all signals blocked:
 * "lsl-udp" answers discovery and time queries, "lsl-tcp" serves every inlet
 * from one epoll loop with non-blocking sockets and a bounded buffer per inlet
 * (a connection that sends no complete request within 2 s is closed).
 * Pushing never blocks: it encodes the sample, appends it to a bounded ring
 * under a short lock, and then either sends it itself with non-blocking
 * sendmsg() calls, when the TCP thread is idle and at most 4 inlets stream,
 * or wakes the TCP thread through an eventfd. */
#ifndef CR_LSL_LSL_H
#define CR_LSL_LSL_H

#include "base/frame.h"

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CR_LSL_MULTICAST_PORT 16571 /* discovery port (liblsl ports.MulticastPort) */
#define CR_LSL_BASE_PORT 16572      /* first TCP data / UDP service port (ports.BasePort) */
#define CR_LSL_PORT_RANGE 32        /* ports tried from the base port (ports.PortRange) */
#define CR_LSL_MAX_INLETS 32        /* TCP connections served at once, per outlet */
#define CR_LSL_CHANNELS 3           /* of a frames outlet: frame_number, trigger_time, trigger_type */
#define CR_LSL_MARKER_MAX 4096      /* bytes of one marker's text, at most */

struct cr_lsl_outlet;

/* What the outlet publishes. Strings are copied; NULL picks the default. */
struct cr_lsl_stream_info {
	const char *name;         /* stream name, required (the camera's name by default) */
	bool markers;             /* a markers outlet: one string channel, nominal rate 0, pushed with
				     cr_lsl_outlet_push_marker(); false: a frames outlet */
	const char *type;         /* stream type; NULL: "VideoEvents" (frames), "Markers" (markers) */
	const char *source_id;    /* NULL: "camrig:<hostname>:<camera_name>" (frames),
				     "camrig:<hostname>:<camera_name>:markers" (markers); stable across restarts */
	const char *session_id;   /* NULL: "default" (liblsl lab.SessionID) */
	const char *hostname;     /* NULL: gethostname() */
	double nominal_rate;      /* samples per second (the camera's fps); 0: irregular. A markers outlet
				     announces 0 whatever this says and shows it as the camera's fps in <desc> */
	const char *camera_name;  /* shown in <desc>; NULL: name */
	int width, height;        /* frame size in pixels, shown in <desc>; 0: unknown */
	const char *format;       /* pixel format name, e.g. "YUYV", shown in <desc>; NULL: unknown */
	const char *interfaces;   /* network interfaces inlets may use, "lo,eth0"; NULL or "": every one.
				     Queries that arrive on another interface get no answer, connections to
				     an address of another are closed, and multicast groups are joined on
				     these only. */
	/* Tuning, for tests and benchmarks; 0 picks the default. */
	uint16_t multicast_port;  /* UDP discovery port; default 16571 */
	uint16_t base_port;       /* first port tried for the TCP data and UDP service ports; default 16572 */
	int stall_timeout_ms;     /* drop an inlet whose socket takes no byte this long while data waits;
				     default 10000 */
	int request_timeout_ms;   /* close a connection that has sent no complete request this long after
				     it was accepted; default 2000 */
	bool limit_loopback;      /* limit discovery replies to loopback senders too (tests) */
};

/* Counters of one outlet, for /status and tests. */
struct cr_lsl_stats {
	char uid[37];              /* this run's stream uid (random, new at every start) */
	uint16_t data_port;        /* TCP port of the data server */
	uint16_t service_port;     /* UDP port of the time/query service */
	unsigned inlets;           /* TCP connections open now (any request) */
	unsigned streaming;        /* of which receive samples now */
	uint64_t inlets_total;     /* streamfeed connections accepted since start */
	uint64_t inlets_dropped;   /* inlets camrig disconnected because they took no data (stalled) */
	uint64_t requests_refused; /* TCP requests answered 404/505 or closed as malformed, late or idle */
	uint64_t requests_timed_out; /* of which: connections that sent no complete request within the
					request timeout (2 s) */
	uint64_t queries_answered; /* shortinfo queries answered (UDP and TCP) */
	uint64_t queries_limited;  /* shortinfo queries from beyond loopback not answered: their address asked
				      too often (a reply is 20x a query: no amplifier for spoofed senders) */
	uint64_t timedata_answered;/* LSL:timedata probes answered */
	uint64_t samples_pushed;   /* samples given to cr_lsl_outlet_push*() and accepted */
	uint64_t markers_refused;  /* cr_lsl_outlet_push_marker() calls refused (-EINVAL, -E2BIG) */
	uint64_t samples_sent;     /* samples fully handed to inlet sockets, summed over inlets */
	uint64_t samples_skipped;  /* samples an inlet missed because its buffer was full */
};

/* Creates an outlet: binds the TCP data port and UDP service port (first free
 * port from base_port, else a random one) and the UDP discovery socket on
 * multicast_port (joined to LSL's IPv4 groups on every interface); no thread
 * runs before cr_lsl_outlet_start(). A discovery port that cannot be bound is
 * a warning only: inlets that know the host still find the stream through
 * the service port. Returns 0 and sets *out, or a negative errno (logged):
 * -EINVAL for a missing name or over-long strings, a socket error otherwise. */
int cr_lsl_outlet_new(const struct cr_lsl_stream_info *info, struct cr_lsl_outlet **out);

/* Starts the two threads. Returns 0 or a negative errno (logged). */
int cr_lsl_outlet_start(struct cr_lsl_outlet *outlet);

/* Stops and joins the threads; pushes go on being counted. Idempotent. */
void cr_lsl_outlet_stop(struct cr_lsl_outlet *outlet);

/* Stops, closes every inlet and frees the outlet. NULL-safe; sets *outlet to
 * NULL. */
void cr_lsl_outlet_free(struct cr_lsl_outlet **outlet);

/* A fan-out tap (base/fanout.h) that pushes the sample of every frame:
 * cr_lsl_outlet_push_frame(outlet, frame->index, frame->mono_ns). Frames
 * outlets only. */
void cr_lsl_outlet_tap(void *outlet, const struct cr_frame *frame);

/* Publishes one sample with explicit values on a frames outlet (on a markers
 * outlet it does nothing). timestamp is the capture time in seconds on LSL's
 * clock (CLOCK_MONOTONIC, see cr_lsl_clock()); trigger_time is UTC seconds
 * since the epoch (0 before any trigger), trigger_type the code of who
 * triggered (0 none, 1 keyboard, 2 ntfy, 3 http, 4 gpio, 5 schedule, 6 motion,
 * 7 mcp, 8 mqtt). Never blocks: with no inlet connected it only counts; when the TCP
 * thread lags it drops the oldest queued sample. Safe from any thread. */
void cr_lsl_outlet_push(struct cr_lsl_outlet *outlet, double frame_number, double trigger_time,
			double trigger_type, double timestamp);

/* Records a trigger that happened at mono_ns (CLOCK_MONOTONIC ns) = utc_us
 * (µs since the UTC epoch), by type (codes as above), for
 * cr_lsl_outlet_push_frame(). The first frame captured at or after mono_ns
 * carries type in trigger_type (later frames 0) and utc_us in trigger_time,
 * which later frames keep until a later trigger; frames captured before it
 * keep the previous trigger's time, even when pushed afterwards. Of two
 * triggers before the same frame, the later one shows. A trigger recorded
 * only after the frame it belongs to was pushed shows on the next frame
 * pushed, so that each still shows once. The last 8 triggers are remembered.
 * Safe from any thread. */
void cr_lsl_outlet_trigger(struct cr_lsl_outlet *outlet, int type, int64_t mono_ns, int64_t utc_us);

/* Publishes the sample of one captured frame on a frames outlet: frame_number,
 * the latest trigger recorded at or before the capture time (its type only
 * when this is the first frame after it, see cr_lsl_outlet_trigger()), and
 * the capture time mono_ns (CLOCK_MONOTONIC ns, the driver's timestamp) as the
 * LSL timestamp. Frames must be pushed in capture order. Never blocks, as
 * cr_lsl_outlet_push(). */
void cr_lsl_outlet_push_frame(struct cr_lsl_outlet *outlet, uint64_t frame_number, int64_t mono_ns);

/* Publishes one marker (text: UTF-8, at most CR_LSL_MARKER_MAX bytes) with
 * timestamp mono_ns (CLOCK_MONOTONIC ns) on a markers outlet. Returns 0,
 * -EINVAL for a frames outlet or NULL text, -E2BIG for longer text (nothing
 * sent). Never blocks; safe from any thread. As every sample, a marker goes to
 * the inlets streaming when it is pushed (none: it is only counted); each
 * inlet buffers at most 32 markers it has not taken. The text is sent as
 * given: camrig's markers are compact JSON objects
 * {"event": TYPE, "camera": NAME, ...} (doc/lsl-protocol.md). */
int cr_lsl_outlet_push_marker(struct cr_lsl_outlet *outlet, const char *text, int64_t mono_ns);

/* Whether camrig's event type ("recording_started") goes out as a marker:
 * the events a markers outlet's <desc> lists. */
bool cr_lsl_marker_event(const char *type);

/* Copies the outlet's counters into *stats. Returns 0, or -EINVAL for NULL. */
int cr_lsl_outlet_stats(struct cr_lsl_outlet *outlet, struct cr_lsl_stats *stats);

/* LSL's clock, liblsl's lsl_local_clock(): CLOCK_MONOTONIC in seconds. */
double cr_lsl_clock(void);

#ifdef __cplusplus
}
#endif

#endif
