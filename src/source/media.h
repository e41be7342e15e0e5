/* The media controller (linux/media.h): which media device a V4L2 capture
 * node belongs to, and the sub-devices around it — the camera sensor that
 * feeds it (the entity whose function is MEDIA_ENT_F_CAM_SENSOR, found by
 * walking data links upstream from the node) or an entity named in the
 * configuration — with the path of each one's /dev/v4l-subdevN node.
 * Read with MEDIA_IOC_G_TOPOLOGY, nothing cached.
 *
 * Reference: Documentation/userspace-api/media/mediactl/media-ioc-g-topology.rst. */
#ifndef CR_SOURCE_MEDIA_H
#define CR_SOURCE_MEDIA_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cr_media_subdev {
	char media[300];         /* the media device: "/dev/media1" */
	char entity[64];         /* the entity's name: "imx296 10-001a", "Sensor A" */
	char path[64];           /* its sub-device node: "/dev/v4l-subdev0" */
	unsigned pad;            /* its first source pad (index) */
	int is_sensor;           /* 1: MEDIA_ENT_F_CAM_SENSOR */
};

/* Finds the sub-device for the V4L2 node video_path: the entity called
 * entity (exact name, or the part before the I2C address, "imx296" for
 * "imx296 10-001a"), or with entity NULL the camera sensor upstream of the
 * node. Returns 0 with *out; -ENOENT when the node is in no media graph or
 * no such entity is there (why, len bytes, then says what was looked for and
 * lists the entities there are); -ENODEV when the entity has no sub-device
 * node; another -errno when the graph cannot be read. */
int cr_media_find_subdev(const char *video_path, const char *entity, struct cr_media_subdev *out, char *why,
			 size_t len);

/* The sub-devices that the enabled data links from sd's source pad feed
 * (the CSI-2 receiver after a sensor): each one's entity, node and sink pad
 * (in .pad), up to max into out. Video nodes are left out. Returns how many
 * (>= 0), or -errno when the graph cannot be read. */
int cr_media_downstream(const struct cr_media_subdev *sd, struct cr_media_subdev *out, int max);

/* 1 when the V4L2 node video_path is in a media graph with a camera sensor
 * in it, 0 when not (or in none), -errno when the graph cannot be read. */
int cr_media_has_sensor(const char *video_path);

/* 1 when some media device (/dev/mediaN) that is not a USB webcam's
 * (uvcvideo) has a camera sensor, or one cannot be read (so the answer may
 * be yes); 0 when none has. Every camera libcamera drives that is not a USB
 * webcam is such a graph, so with 0 there is none: camrig then need not
 * start libcamera to learn that. */
int cr_media_any_board_sensor(void);

#ifdef __cplusplus
}
#endif

#endif
