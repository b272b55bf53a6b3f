"""What the tests and the benchmarks share to run the project as people do: the model server and the doors started
on free ports with throwaway stores and logs (`voila_server`), and a client that opens an app page and speaks to its
kernel as the page's widget manager does (`widget_client`). Installed with the project (an editable install), so the
benchmarks import it without touching `sys.path`."""
