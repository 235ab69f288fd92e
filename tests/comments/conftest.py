from tests.comments.fixtures import alice, app, board, bob, noticeboard, process  # noqa: F401
