"""The playlist rewriting alone: real playlists in, every URI replaced, the rest kept."""

from __future__ import annotations

import pytest

from plugins.video.playback.manifest import Playlist, PlaylistError, rewrite

PREFIX = "videos/alice/0b5e1c52-7d0e-4c43-9a43-2f7f3e0e1a11"
MASTER = f"{PREFIX}/hls/master.m3u8"

MASTER_TEXT = """#EXTM3U
#EXT-X-VERSION:6
#EXT-X-INDEPENDENT-SEGMENTS

# audio in two languages
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",LANGUAGE="en",NAME="English",DEFAULT=YES,AUTOSELECT=YES,URI="audio/en/index.m3u8"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aac",LANGUAGE="fr",NAME="Français",DEFAULT=NO,URI="audio/fr/index.m3u8"
#EXT-X-STREAM-INF:BANDWIDTH=1280000,AVERAGE-BANDWIDTH=1000000,RESOLUTION=640x360,CODECS="avc1.42c01e,mp4a.40.2",AUDIO="aac"
v0/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=220000,RESOLUTION=320x180,CODECS="avc1.42c01e,mp4a.40.2",AUDIO="aac"
v1/index.m3u8

#EXT-X-STREAM-INF:BANDWIDTH=88000,RESOLUTION=160x90,CODECS="avc1.42c01e,mp4a.40.2",AUDIO="aac"
v2/index.m3u8
#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=86000,CODECS="avc1.42c01e",URI="v0/iframes.m3u8"
"""

MEDIA_TEXT = """#EXTM3U\r
#EXT-X-VERSION:7\r
#EXT-X-TARGETDURATION:2\r
#EXT-X-MEDIA-SEQUENCE:0\r
#EXT-X-PLAYLIST-TYPE:VOD\r
#EXT-X-MAP:URI="init.mp4",BYTERANGE="720@0"\r
#EXT-X-KEY:METHOD=AES-128,URI="../keys/key%201.bin",IV=0x1f\r
#EXTINF:2.000,\r
#EXT-X-BYTERANGE:75232@720\r
main.m4s\r
\r
# a comment stays\r
#EXTINF:2.000,title\r
#EXT-X-BYTERANGE:82112\r
main.m4s\r
#EXT-X-DISCONTINUITY\r
#EXTINF:1.500,\r
/videos/alice/0b5e1c52-7d0e-4c43-9a43-2f7f3e0e1a11/hls/v0/tail.ts\r
#EXT-X-ENDLIST\r
"""


def signer(key: str) -> str:
    return f"https://s3.example/{key}?signed"


def test_a_master_playlist_points_every_playlist_at_the_route():
    out = rewrite(MASTER_TEXT, Playlist.master(MASTER, PREFIX), signer)
    lines = out.split("\n")
    assert "playback/hls/v0/index.m3u8" in lines
    assert "playback/hls/v1/index.m3u8" in lines
    assert "playback/hls/v2/index.m3u8" in lines
    assert 'URI="playback/hls/audio/en/index.m3u8"' in out
    assert 'URI="playback/hls/audio/fr/index.m3u8"' in out
    assert 'URI="playback/hls/v0/iframes.m3u8"' in out
    # tags, comments, blank lines and their order kept
    assert out.replace("playback/hls/", "") == MASTER_TEXT
    assert "signed" not in out


def test_a_media_playlist_signs_every_segment_map_and_key_and_keeps_the_rest():
    playlist = Playlist.under(PREFIX, "hls/v0/index.m3u8")
    out = rewrite(MEDIA_TEXT, playlist, signer)
    base = f"https://s3.example/{PREFIX}/hls"
    assert f'#EXT-X-MAP:URI="{base}/v0/init.mp4?signed",BYTERANGE="720@0"\r\n' in out
    assert f'URI="{base}/keys/key 1.bin?signed",IV=0x1f\r\n' in out
    assert out.count(f"{base}/v0/main.m4s?signed\r\n") == 2
    assert f"{base}/v0/tail.ts?signed\r\n" in out
    for kept in ("#EXT-X-BYTERANGE:75232@720\r\n", "#EXT-X-BYTERANGE:82112\r\n",
                 "\r\n\r\n# a comment stays\r\n", "#EXTINF:2.000,title\r\n",
                 "#EXT-X-DISCONTINUITY\r\n", "#EXT-X-ENDLIST\r\n"):
        assert kept in out
    assert len(out.splitlines()) == len(MEDIA_TEXT.splitlines())


def test_a_media_playlist_names_another_playlist_relative_to_its_own_route():
    playlist = Playlist.under(PREFIX, "hls/v0/index.m3u8")
    out = rewrite('#EXT-X-RENDITION-REPORT:URI="../v1/index.m3u8",LAST-MSN=3\n', playlist,
                  signer)
    assert out == '#EXT-X-RENDITION-REPORT:URI="../v1/index.m3u8",LAST-MSN=3\n'


@pytest.mark.parametrize("uri", [
    "../../../other/segment.ts",
    "../../../0b5e1c52-7d0e-4c43-9a43-2f7f3e0e1a12/hls/segment.ts",
    "/videos/bob/elsewhere.ts",
    "https://evil.example/segment.ts",
    "//evil.example/segment.ts",
])
def test_a_uri_leaving_the_prefix_is_refused(uri):
    with pytest.raises(PlaylistError):
        rewrite(f"#EXTINF:2,\n{uri}\n", Playlist.under(PREFIX, "hls/v0/index.m3u8"), signer)
    with pytest.raises(PlaylistError):
        rewrite(f'#EXT-X-KEY:METHOD=AES-128,URI="{uri}"\n', Playlist.master(MASTER, PREFIX),
                signer)


@pytest.mark.parametrize("path", ["../x.m3u8", "hls/../../x.m3u8", "/hls/v0/index.m3u8",
                                  "hls//index.m3u8", "hls/./index.m3u8", "hls/v0/segment.ts",
                                  "hls/v0/index.m3u8/"])
def test_only_plain_playlist_paths_are_served(path):
    with pytest.raises(PlaylistError):
        Playlist.under(PREFIX, path)


def test_the_fixture_ladder_rewrites_to_routes_and_signed_segments():
    from plugins.video.transcoder import FIXTURE_LADDER
    master = (FIXTURE_LADDER / "master.m3u8").read_text("utf-8")
    assert "playback/hls/v1/index.m3u8" in rewrite(master, Playlist.master(MASTER, PREFIX),
                                                   signer)
    media = (FIXTURE_LADDER / "v1" / "index.m3u8").read_text("utf-8")
    out = rewrite(media, Playlist.under(PREFIX, "hls/v1/index.m3u8"), signer)
    assert f"https://s3.example/{PREFIX}/hls/v1/segment_000.ts?signed" in out
