"""Reading a downloaded CSV back: every export streams, so its body is the joined chunks."""

import csv
import io


def csv_text(response) -> str:
    return b"".join(response.streaming_content).decode()


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(csv_text(response))))


def body_text(response) -> str:
    """A page's or a download's body, whichever the response is."""
    if response.streaming:
        return csv_text(response)
    return response.content.decode()
