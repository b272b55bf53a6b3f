"""Keeping a deployment right: the prediction log (`log`), drift (`drift`, its report in `report`), live
performance from feedback (`performance`) and two versions side by side (`compare`)."""
