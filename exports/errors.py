"""Error codes of the exports."""

from distribution.errors import ApplicationError, Conflict


class ExportNotReady(Conflict):
    code = "export_not_ready"
    default_message = "The export job is still queued or running: its file can be downloaded when it is done."


class ExportFailed(Conflict):
    code = "export_failed"
    default_message = "The export job failed, so it has no file: ask for the export again."


class ExportExpired(ApplicationError):
    status_code = 410
    code = "export_expired"
    default_message = "The export's file has expired and was deleted: ask for the export again."
