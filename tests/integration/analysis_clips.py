"""Test footage for the analysis tests, made with ffmpeg from what Debian
packages ship (nothing generated as a pattern):

- walk_clip(): OpenCV's sample vtest.avi (opencv-doc: a fixed camera over a
  campus path, people walking, 768x576 at 10 fps), cut into two walks with
  still holds around them, at 640x480, 10 fps. A hold repeats one frame, so
  nothing moves in it. Looking at the frames (and at their differences)
  gives the motion a person counts: WALKS, two walks of 40 frames each.
- light_clip(): vtest.avi's first frame held for 3 s, then 40% brighter in
  one frame for 5 s, with temporal noise (ffmpeg's noise filter, strength
  12) on every frame: a light switch and sensor noise, and nothing moving.
- face_still(): two photos of faces from opencv-doc, side by side at two
  sizes on one 640x480 still (so largest_only has a choice).
"""
import os
import subprocess

from camrig_test import skip

DATA = "/usr/share/doc/opencv-doc/examples/data"
HTML = "/usr/share/doc/opencv-doc/opencv4/html"
VTEST = os.path.join(DATA, "vtest.avi")
FPS = 10
# (first frame, last frame) of each walk in walk_clip(), by frame index.
WALKS = ((50, 89), (140, 179))
WALK_FRAMES = 230
LIGHT_FRAMES = 80
LIGHT_SWITCH_FRAME = 30


def need_footage(*paths):
    for p in paths or (VTEST,):
        if not os.path.exists(p):
            skip(f"{p} is missing (Debian's opencv-doc package; scripts/install-deps.sh test installs it)")


def _ffmpeg(args):
    subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args], check=True,
                   timeout=120)


def _frames(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                          "stream=nb_read_frames", "-of", "csv=p=0", path], capture_output=True, text=True,
                         check=True, timeout=60)
    return int(out.stdout.strip())


def _hold(label, frame, count, out):
    return (f"[{label}]trim=start_frame={frame}:end_frame={frame + 1},loop=loop={count - 1}:size=1:start=0,"
            f"setpts=N/{FPS}/TB[{out}]")


def _walk(label, first, end, out):
    return f"[{label}]trim=start_frame={first}:end_frame={end},setpts=N/{FPS}/TB[{out}]"


def walk_clip(tmp):
    """Holds vtest frame 0 (50 frames), walks frames 1..40, holds frame 40
    (50), walks frames 301..340, holds frame 340 (50): 230 frames, motion in
    frames 50..89 and 140..179."""
    need_footage()
    path = os.path.join(tmp, "walk.mp4")
    graph = ";".join(["[0]scale=640:480,split=5[a][b][c][d][e]", _hold("a", 0, 50, "A"), _walk("b", 1, 41, "B"),
                      _hold("c", 40, 50, "C"), _walk("d", 301, 341, "D"), _hold("e", 340, 50, "E"),
                      "[A][B][C][D][E]concat=n=5:v=1:a=0[out]"])
    _ffmpeg(["-i", VTEST, "-filter_complex", graph, "-map", "[out]", "-r", str(FPS), "-c:v", "libx264", "-g", "10",
             "-pix_fmt", "yuv420p", path])
    assert _frames(path) == WALK_FRAMES, f"{path}: not {WALK_FRAMES} frames"
    return path


def light_clip(tmp):
    need_footage()
    path = os.path.join(tmp, "light.mp4")
    graph = ";".join(["[0]scale=640:480,trim=start_frame=0:end_frame=1,split[a][b]",
                      f"[a]loop=loop={LIGHT_SWITCH_FRAME - 1}:size=1:start=0,setpts=N/{FPS}/TB[A]",
                      f"[b]lutyuv=y='clip(val*1.4,0,255)',loop=loop={LIGHT_FRAMES - LIGHT_SWITCH_FRAME - 1}:size=1:"
                      f"start=0,setpts=N/{FPS}/TB[B]",
                      "[A][B]concat=n=2:v=1:a=0,noise=alls=12:allf=t,format=yuv420p[out]"])
    _ffmpeg(["-i", VTEST, "-filter_complex", graph, "-map", "[out]", "-r", str(FPS), "-c:v", "libx264", "-g", "10",
             path])
    assert _frames(path) == LIGHT_FRAMES, f"{path}: not {LIGHT_FRAMES} frames"
    return path


FACE_PHOTOS = (os.path.join(HTML, "face_swapped.jpg"), os.path.join(HTML, "facereg.jpg"))


def face_clip(tmp):
    """A 640x480 still on gray: face_swapped.jpg (one face, 320x320) at the
    left, facereg.jpg (four faces with facial landmarks drawn on them, as
    OpenCV's facemark tutorial shows them) scaled to 300x300 at the right;
    as a 1 s clip at 10 fps of intra-only H.264 (every frame decodes the
    same), for a looping file: source. Returns (clip, still PNG)."""
    need_footage(*FACE_PHOTOS)
    still, clip = os.path.join(tmp, "faces.png"), os.path.join(tmp, "faces.mp4")
    _ffmpeg(["-f", "lavfi", "-i", "color=c=gray:s=640x480", "-i", FACE_PHOTOS[0], "-i", FACE_PHOTOS[1],
             "-filter_complex", "[2]scale=300:300[r];[0][1]overlay=0:80[a];[a][r]overlay=330:90,format=rgb24",
             "-frames:v", "1", still])
    _ffmpeg(["-loop", "1", "-framerate", str(FPS), "-i", still, "-t", "1", "-c:v", "libx264", "-g", "1", "-crf", "10",
             "-pix_fmt", "yuv420p", clip])
    return clip, still
