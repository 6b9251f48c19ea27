// The Amazon Chime video of the consultation room: the meeting and attendee the join
// route answers, handed as they are to amazon-chime-sdk-js. The room page imports this
// module only when the provider is Chime, so the SDK is a chunk of its own that no
// other page loads.
import {
  ConsoleLogger,
  DefaultDeviceController,
  DefaultMeetingSession,
  LogLevel,
  MeetingSessionConfiguration,
  MeetingSessionStatusCode,
  type AudioVideoObserver,
  type MeetingSessionStatus,
  type VideoTileState,
} from "amazon-chime-sdk-js";

// What the page shows of the call.
export type CallState = "asking" | "connecting" | "reconnecting" | "connected" | "left" | "failed";

// Why the call could not start or stopped, in the words the page shows.
export type CallError = "permission" | "no-device" | "connection" | "ended";

export interface CallView {
  local: HTMLVideoElement;
  remote: HTMLVideoElement;
  audio: HTMLAudioElement;
  onState: (s: CallState, err?: CallError) => void;
  onRemote: (present: boolean) => void;
}

export interface Call {
  mute: (muted: boolean) => void;
  camera: (on: boolean) => void;
  leave: () => void;
}

// mediaError sorts a getUserMedia refusal: the person (or the browser's setting) said
// no, or there is no camera nor microphone; anything else is a device the browser could
// not open, told as no device.
function mediaError(e: unknown): CallError {
  const name = e instanceof DOMException || e instanceof Error ? e.name : "";
  return name === "NotAllowedError" || name === "PermissionDeniedError" || name === "SecurityError" ? "permission" : "no-device";
}

// askMedia asks for the camera and the microphone; without a camera, the microphone
// alone (a consultation by voice still works).
async function askMedia(): Promise<MediaStream> {
  try {
    return await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
  } catch (e) {
    if (mediaError(e) === "permission") throw e;
    return await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
  }
}

// statusError says why a stopped session stopped; undefined when the person left.
export function statusError(s: MeetingSessionStatus): CallError | undefined {
  switch (s.statusCode()) {
    case MeetingSessionStatusCode.OK:
    case MeetingSessionStatusCode.Left:
      return undefined;
    case MeetingSessionStatusCode.MeetingEnded:
    case MeetingSessionStatusCode.TURNCredentialsForbidden:
    case MeetingSessionStatusCode.AudioAttendeeRemoved:
      return "ended";
    default:
      return "connection";
  }
}

export async function join(meetingJson: string, attendeeJson: string, view: CallView): Promise<Call | undefined> {
  const logger = new ConsoleLogger("healthcore-chime", LogLevel.WARN);
  const devices = new DefaultDeviceController(logger);
  const config = new MeetingSessionConfiguration(JSON.parse(meetingJson), JSON.parse(attendeeJson));
  const session = new DefaultMeetingSession(config, logger, devices);
  const av = session.audioVideo;

  view.onState("asking");
  let media: MediaStream;
  try {
    media = await askMedia();
  } catch (e) {
    view.onState("failed", mediaError(e));
    return undefined;
  }
  const camera = media.getVideoTracks().length > 0;
  let left = false;
  // Once the person left, the SDK may still be finishing (it hangs up after its join
  // has an answer): nothing it reports changes the page any more.
  const report = (s: CallState) => !left && view.onState(s);
  const observer: AudioVideoObserver = {
    audioVideoDidStartConnecting: (reconnecting) => report(reconnecting ? "reconnecting" : "connecting"),
    audioVideoDidStart: () => report("connected"),
    audioVideoDidStop: (s) => {
      media.getTracks().forEach((t) => t.stop());
      if (left) return;
      const err = statusError(s);
      view.onState(err ? "failed" : "left", err);
    },
    videoTileDidUpdate: (t: VideoTileState) => {
      if (t.tileId === null || t.isContent) return;
      if (t.localTile) {
        // Until the tile has the camera's stream (once connected), binding would empty
        // the element the preview fills.
        if (t.boundVideoStream) av.bindVideoElement(t.tileId, view.local);
      } else if (t.boundAttendeeId) {
        av.bindVideoElement(t.tileId, view.remote);
        view.onRemote(true);
      }
    },
    videoTileWasRemoved: () => view.onRemote(av.getAllRemoteVideoTiles().length > 0),
  };
  av.addObserver(observer);
  try {
    await av.startAudioInput(new MediaStream(media.getAudioTracks()));
    if (camera) await av.startVideoInput(new MediaStream(media.getVideoTracks()));
    await av.bindAudioElement(view.audio);
  } catch (e) {
    media.getTracks().forEach((t) => t.stop());
    view.onState("failed", mediaError(e));
    return undefined;
  }
  // One's own camera shows at once (the SDK's preview), before the meeting answers;
  // once connected, the local tile sends it and keeps it in the same element.
  const cameraOn = (on: boolean) => {
    if (on && camera) {
      av.startVideoPreviewForVideoInput(view.local);
      av.startLocalVideoTile();
    } else {
      av.stopLocalVideoTile();
      av.stopVideoPreviewForVideoInput(view.local);
    }
  };
  av.start();
  cameraOn(true);
  return {
    mute: (muted) => (muted ? av.realtimeMuteLocalAudio() : av.realtimeUnmuteLocalAudio()),
    camera: cameraOn,
    leave: () => {
      left = true;
      av.stop();
      media.getTracks().forEach((t) => t.stop());
    },
  };
}
