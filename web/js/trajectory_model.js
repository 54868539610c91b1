// The tracks JSON the editor reads and writes: the same contract as core/trajectory.py (version 1).
// A track is {points: [[x, y], ...], frames?: [frame, ...], radius?, mask?, anchor}; pixels of width x height,
// origin top-left. The other dialects (WanTrackToVideo / KJNodes lists of {x, y}, DragNUWA [[x, y], ...])
// are read and converted to this one, one point per frame, as the Python side does.

export const EMPTY = { version: 1, tracks: [] };

export function parseTracks(text) {
  let obj;
  try {
    obj = JSON.parse(text && text.trim() ? text : '{"version": 1, "tracks": []}');
  } catch (first) {
    try {
      obj = JSON.parse(text.replace(/'/g, '"'));
    } catch {
      return { error: `tracks are not valid JSON (${first.message})` };
    }
  }
  if (Array.isArray(obj)) return { model: fromList(obj) };
  if (!obj || typeof obj !== "object" || !Array.isArray(obj.tracks)) {
    return { error: 'expected {"version": 1, "tracks": [...]}' };
  }
  const tracks = [];
  for (const [i, t] of obj.tracks.entries()) {
    if (!t || !Array.isArray(t.points) || !t.points.length) return { error: `track ${i}: has no points` };
    tracks.push({ ...t, points: t.points.map((p) => [Number(p[0]), Number(p[1])]), anchor: !!t.anchor });
  }
  return { model: { ...obj, version: 1, tracks } };
}

function fromList(list) {
  const items = list.length && !Array.isArray(list[0]) ? [list] : list;
  const tracks = items.map((item) => {
    const points = item.map((p) => (Array.isArray(p) ? [p[0], p[1]] : [p.x, p.y]));
    return { points, frames: points.map((_, f) => f), anchor: false };
  });
  return { version: 1, tracks };
}

export function serialize(model) {
  const out = { version: 1 };
  if (model.width && model.height) Object.assign(out, { width: model.width, height: model.height });
  out.tracks = model.tracks.map((t) => {
    const track = { points: t.points.map(([x, y]) => [round(x), round(y)]) };
    if (t.frames) track.frames = t.frames;
    if (t.radius !== undefined) track.radius = t.radius;
    if (t.mask !== undefined) track.mask = t.mask;
    track.anchor = !!t.anchor;
    return track;
  });
  return JSON.stringify(out);
}

function round(v) {
  return Math.round(v * 10) / 10;
}

// Where a track is at a frame is not computed here: the canvas asks the server (core.trajectory, the same
// `smooth` / `linear` interpolation as IV_TrajectoryToFlow) through motion_preview.js.

// Append a point; a keyframed track gets a keyframe after its last one, so its keyframes stay increasing.
export function appendPoint(track, point, frameCount) {
  track.points.push(point);
  if (track.frames) {
    const last = track.frames[track.frames.length - 1];
    track.frames.push(last < frameCount - 1 ? frameCount - 1 : last + 1);
  }
}

export function removePoint(model, trackIndex, pointIndex) {
  const track = model.tracks[trackIndex];
  track.points.splice(pointIndex, 1);
  if (track.frames) track.frames.splice(pointIndex, 1);
  if (!track.points.length) model.tracks.splice(trackIndex, 1);
}

export function defaultRadius(model) {
  return Math.max(4, Math.round(Math.min(model.width || 512, model.height || 512) / 12));
}
